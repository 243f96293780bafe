// The device's health: a lost device or an uncaptured error (validation, out of memory) turns into a
// BackendError thrown by the backend's next call, with what happened and what to do.

import { BackendError, DeviceLostError } from '../backend.js';

export class DeviceHealth {
  private lost: string | null = null;
  private errors: string[] = [];
  private destroyed = false;

  constructor(device: GPUDevice) {
    void device.lost.then((info) => {
      if (this.destroyed) return;
      const message = info.message.trim().replace(/\s+/g, ' ');
      this.lost = `WebGPU device lost (${info.reason}: ${message}): the adapter's tensors are gone; create a new backend`;
    });
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      const message = error.message.trim().replace(/\s+/g, ' ');
      this.errors.push(
        error.constructor.name === 'GPUOutOfMemoryError'
          ? `WebGPU ran out of memory (${message}): free tensors or use smaller layers`
          : `WebGPU reported an error (${message}): this is a bug in the WebGPU backend, please report it`,
      );
    });
  }

  /** Called by destroy(): later calls say the backend was destroyed rather than lost. */
  markDestroyed(): void {
    this.destroyed = true;
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** True once the device is lost (not destroyed through the backend). */
  get isLost(): boolean {
    return this.lost !== null;
  }

  /** Throws the pending problem, if any (errors are reported once); a lost device throws DeviceLostError. */
  check(): void {
    if (this.destroyed) throw new BackendError('this WebGPU backend was destroyed: create a new backend');
    if (this.lost) throw new DeviceLostError(this.lost);
    if (this.errors.length > 0) throw new BackendError(this.errors.splice(0).join('; '));
  }
}

// The error of checkpoint and adapter I/O that is not about safetensors bytes (those raise
// SafetensorsError): a bad config.json or adapter_config.json, a tensor of the wrong shape, a name the
// loader does not know. The message starts with the file (or folder) and says what to do.

export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

// Compute pipelines cached by (family, entry point, override constants): nothing is compiled per
// step. Each kernel states its bind group layout explicitly (binding number and access), so a layout
// never depends on which variables an entry point happens to reference.

/** Binding 0 is always the kernel's uniform parameters; the rest are storage buffers. */
export type Access = 'read' | 'write';

export interface KernelSpec {
  /** The kernel family (one WGSL file). */
  family: string;
  source: string;
  entry: string;
  /** Storage bindings in the order the backend passes buffers: [binding number, access]. */
  storage: ReadonlyArray<readonly [number, Access]>;
}

export type Constants = Readonly<Record<string, number | boolean>>;

export interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Storage binding numbers, in the order buffers are passed. */
  storage: number[];
  key: string;
}

const COMPUTE = 0x4; // GPUShaderStage.COMPUTE

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, CachedPipeline>();

  constructor(private readonly device: GPUDevice) {}

  /** Number of distinct pipelines compiled so far. */
  get size(): number {
    return this.pipelines.size;
  }

  get(spec: KernelSpec, constants: Constants = {}): CachedPipeline {
    const names = Object.keys(constants).sort();
    const key = `${spec.family}/${spec.entry}/${names.map((n) => `${n}=${Number(constants[n])}`).join(',')}`;
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    let module = this.modules.get(spec.family);
    if (!module) {
      module = this.device.createShaderModule({ code: spec.source, label: `snell-js ${spec.family}.wgsl` });
      this.modules.set(spec.family, module);
    }
    const layout = this.device.createBindGroupLayout({
      label: key,
      entries: [
        { binding: 0, visibility: COMPUTE, buffer: { type: 'uniform' } },
        ...spec.storage.map(([binding, access]) => ({
          binding,
          visibility: COMPUTE,
          buffer: { type: access === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
        })),
      ],
    });
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: {
        module,
        entryPoint: spec.entry,
        constants: Object.fromEntries(names.map((n) => [n, Number(constants[n])])),
      },
    });
    const entry = { pipeline, layout, storage: spec.storage.map(([binding]) => binding), key };
    this.pipelines.set(key, entry);
    return entry;
  }
}

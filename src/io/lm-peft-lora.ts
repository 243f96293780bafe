// A decoder's LoRA adapter as Hugging Face PEFT saves one, so `PeftModel.from_pretrained` loads it:
// adapter_config.json (peft_type "LORA", lora_alpha = r so PEFT's scaling α/r is 1) and
// adapter_model.safetensors with, per adapted projection P,
//   base_model.model.P.lora_A.weight [r, in],  base_model.model.P.lora_B.weight [out, r]
// from our factors In_Qs A [H, in, k] and Out_Qs B [H, out, k] (k = r/H), whose update is
// Ws[i, o] = Σ_h Σ_j A[h, i, j]·B[h, o, j]: lora_A[h·k + j, i] = A[h, i, j], lora_B[o, h·k + j] =
// B[h, o, j], so PEFT's ΔW = lora_B·lora_A [out, in] = Wsᵀ. GPT-2's Conv1D layers get fan_in_fan_out
// (PEFT then adds ΔWᵀ to the [in, out] weight). Trainable tensors beside the branches (score.weight)
// keep their names and are listed in modules_to_save. Only an unsparsified LoRA is low rank.

import type { NamedArray } from '../core/weights.js';
import type { DecoderLM } from '../model/decoder/lm.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from './adapter.js';
import { CheckpointError } from './errors.js';
import { LM_BRANCH_TENSOR, LM_TENSOR_PREFIX, lmAdapterTensors, lmBranchLinears } from './lm-adapter.js';
import { writeSafetensors } from './safetensors-write.js';
import { type Folder, writeText } from './source.js';

/** PEFT's adapter_config.json and tensors (names with PEFT's prefix) of a model with an unsparsified LoRA plan. */
export async function peftLoraState(
  model: DecoderLM,
  options: { baseModel?: string } = {},
): Promise<{ config: Record<string, unknown>; tensors: Map<string, NamedArray> }> {
  const plan = model.options.plan;
  if (plan?.method !== 'lora')
    throw new CheckpointError(
      'export',
      `PEFT's LoRA format holds LoRA branches, not ${plan?.method ?? 'a model without a plan'}: save the adapter with saveLmAdapter, or merge it`,
    );
  const dense = model.adaptedLayers().find((l) => l.sparsity > 0);
  if (dense)
    throw new CheckpointError(
      'export',
      `branch ${dense.name} is sparsified (sparsity ${dense.sparsity}), so its update is not the low-rank lora_B·lora_A PEFT computes: merge it instead`,
    );
  const trained = await lmAdapterTensors(model);
  const tensors = new Map<string, NamedArray>();
  const H = plan.kernelHeads;
  const r = plan.rank;
  const k = r / H;
  for (const l of lmBranchLinears(model)) {
    const [n, m] = [l.dIn, l.dOut];
    const A = trained.get(`${l.branchName}.In_Qs`)!.data;
    const B = trained.get(`${l.branchName}.Out_Qs`)!.data;
    const loraA = new Float32Array(r * n);
    const loraB = new Float32Array(m * r);
    for (let h = 0; h < H; h++)
      for (let j = 0; j < k; j++) {
        for (let i = 0; i < n; i++) loraA[(h * k + j) * n + i] = A[(h * n + i) * k + j];
        for (let o = 0; o < m; o++) loraB[o * r + h * k + j] = B[(h * m + o) * k + j];
      }
    tensors.set(`${LM_TENSOR_PREFIX}${l.name}.lora_A.weight`, { shape: [r, n], data: loraA });
    tensors.set(`${LM_TENSOR_PREFIX}${l.name}.lora_B.weight`, { shape: [m, r], data: loraB });
  }
  const modules = new Set<string>();
  for (const [name, t] of trained) {
    if (LM_BRANCH_TENSOR.test(name)) continue;
    tensors.set(LM_TENSOR_PREFIX + name, t);
    modules.add(name.slice(0, name.lastIndexOf('.')));
  }
  const c = model.config;
  const [first, last] = plan.layers ?? [0, c.layers];
  const config = {
    peft_type: 'LORA',
    task_type: modules.has('score') ? 'SEQ_CLS' : 'CAUSAL_LM',
    base_model_name_or_path: options.baseModel ?? null,
    r,
    lora_alpha: r,
    lora_dropout: 0,
    bias: 'none',
    fan_in_fan_out: c.arch === 'gpt2',
    target_modules: [...plan.targets],
    layers_to_transform: Array.from({ length: last - first }, (_, i) => first + i),
    layers_pattern: c.arch === 'gpt2' ? 'h' : 'layers',
    modules_to_save: modules.size ? [...modules] : null,
    init_lora_weights: true,
    inference_mode: true,
    use_rslora: false,
    use_dora: false,
  };
  return { config, tensors };
}

/** Writes `peftLoraState(model)` into `folder` as PEFT's adapter_config.json and adapter_model.safetensors. */
export async function savePeftLora(folder: Folder, model: DecoderLM, options: { baseModel?: string } = {}): Promise<void> {
  const { config, tensors } = await peftLoraState(model, options);
  await folder.write(ADAPTER_WEIGHTS, (sink) => writeSafetensors(sink, tensors, { format: 'pt' }).then(() => {}));
  await writeText(folder, ADAPTER_CONFIG, `${JSON.stringify(config, null, 2)}\n`);
}

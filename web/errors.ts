// Errors from the workers as messages for the page: what went wrong and what to do about it.

export function advice(err: unknown): string {
  const e = err as { name?: string; message?: string };
  const msg = e?.message ?? String(err);
  const what = (todo: string) => `${msg} — ${todo}`;
  if (/lost/i.test(msg)) return what('the GPU device was lost: reload the page, or pick the Wasm backend.');
  if (e?.name === 'RangeError' || /out of memory|memory limit|allocation|too large/i.test(msg)) {
    return what('out of memory: lower the batch size or the rank, use a smaller model, or pick the Wasm backend.');
  }
  if (/webgpu|navigator\.gpu|adapter/i.test(msg) && e?.name === 'BackendError') {
    return what('WebGPU is unavailable here: choose "auto" or "wasm" as the backend.');
  }
  if (['CheckpointError', 'SafetensorsError'].includes(e?.name ?? '')) {
    return what('pick a ViT checkpoint: one .safetensors file (timm or transformers naming) with its config.json.');
  }
  if (['ImageFileError', 'PrepError', 'IdxError'].includes(e?.name ?? ''))
    return what('check the images: PNG or JPEG, one sub-folder per class.');
  if (e?.name === 'AdapterConfigError') return what('change the rank (a multiple of 2) or the sparsity (0 to 1).');
  return what('fix the settings or the files and press Train again; reload the page if it persists.');
}

/** The language-model worker's errors, with what to do about them. */
export function lmAdvice(err: unknown): string {
  const e = err as { name?: string; message?: string };
  const msg = e?.message ?? String(err);
  const what = (todo: string) => `${msg} — ${todo}`;
  if (/lost/i.test(msg)) return what('the GPU device was lost: reload the page, or pick the Wasm backend.');
  if (e?.name === 'RangeError' && /memory|allocation/i.test(msg))
    return what('out of memory: lower the batch size or the sequence length, use a smaller model, or pick the Wasm backend.');
  if (['CheckpointError', 'SafetensorsError'].includes(e?.name ?? ''))
    return what('drop a language model folder: config.json (llama, qwen2, mistral or gpt2), model.safetensors, tokenizer.json.');
  if (e?.name === 'TokenizerError') return what("drop the model's own tokenizer.json and tokenizer_config.json.");
  if (e?.name === 'AdapterConfigError') return what('pick another method.');
  return what('fix the settings or the files and try again; reload the page if it persists.');
}

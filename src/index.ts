// The runtime-independent public API. Each package entry (runtimes/<host>/index.ts) adds the host's
// createBackend and what else that host reaches (files, image decoders).
export type { AttentionOptions, Backend, BackendKind, DType, MatmulOptions, MergeKernel, Tensor } from './backend.js';
export { MATMUL_VARIANTS, type MatmulPlan, type MatmulVariant } from './webgpu/matmul.js';
export type { WebGpuOptions } from './webgpu/backend.js';
export { BackendError, DeviceLostError, IGNORE_LABEL } from './backend.js';
export type { AdapterConfig, AdapterKind } from './adapter/config.js';
export { AdapterConfigError, defaultCoeff, resolveConfig } from './adapter/config.js';
export type { AdapterGradients, AdapterParams, MergedUpdate } from './adapter/op.js';
export { SnellAdapterOp } from './adapter/op.js';
export type { LinearName, TuneMethod, TuningPlan, ViTConfig } from './model/config.js';
export { DEFAULT_PLAN, LINEAR_NAMES, targetsMatching, VIT_PRESETS, vitConfig } from './model/config.js';
export type { MemoryReport, Pool } from './model/memory.js';
export { POOLS } from './model/memory.js';
export { initViTWeights } from './model/init.js';
export type { BlockNoise } from './model/block.js';
export { NOISE_SITES, storedNoise, type NoiseSite, type NoiseSource } from './model/noise.js';
export { singleBlock, type SingleBlock } from './model/single-block.js';
export type { NamedArray, Weights } from './core/weights.js';
export type { ViTOptions } from './model/vit.js';
export { ViT } from './model/vit.js';
export type { AdamWConfig, AdamWSnapshot } from './train/adamw.js';
export { AdamW } from './train/adamw.js';
export { learningRate, type Schedule } from './train/schedule.js';
export { type Dataset, shuffled } from './core/dataset.js';
export { type EpochEvent, type Evaluation, type FitOptions, NonFiniteLossError, type StepEvent } from './train/fit-options.js';
export { Trainer } from './train/trainer.js';
export {
  type AllocatedLayer,
  type AllocatorSettings,
  type AllocatorSnapshot,
  type EpochAllocation,
  SparsityAllocator,
} from './train/allocator/allocator.js';
export {
  ALLOCATOR_DEFAULTS,
  type AllocatorOptions,
  type LayerAllocation,
  TrainingAllocation,
} from './train/allocation.js';
export { type BudgetSchedule, budgetAt, budgetBounds, type EpochBudget } from './train/allocator/budget.js';
export { cssColour, type Rgb, sparsityColour, updateColour } from './train/report/colour.js';
export { KEPT_MAP_SIDE, keptImage, type KeptMap, poolKept } from './train/report/kept-map.js';
export { branchLayers, keptMapOf } from './train/report/layer-updates.js';
export { type GridCell, type LayerGrid, layerGrid } from './train/report/layer-grid.js';
export { type SparsityPanel, sparsitySvg, type SparsitySvgOptions } from './train/report/sparsity-svg.js';
export { type Split, splitBudget } from './train/allocator/split.js';
export { type BackendFactory, MAX_RECOVERIES, replacementBackend } from './train/recover.js';
export { PatchDataset, type ImageSet } from './data/images.js';
export { readIdx } from './data/idx.js';
export { estimateMemory } from './train/estimate.js';
export {
  ImagePrep,
  IMAGENET_MEAN,
  IMAGENET_STD,
  PrepError,
  resolvePrep,
  sampleShape,
  type LabeledImages,
  type Prep,
  type PrepOptions,
} from './data/prep.js';
export { ImageDataset, type ImageView } from './data/dataset.js';
export { vtab1k, VTAB_TRAIN, VTAB_VAL, type SplitSet, type Vtab1k } from './data/splits.js';
export { MNIST_CLASSES, mnistFromIdx, mnistSet, type MnistFiles } from './data/mnist.js';
export { FASHION_CLASSES, FashionFormatError, fashionSet, parseFashionJson } from './data/fashion.js';
export {
  DEFAULT_MAX_PIXELS,
  ImageFileError,
  readImageHeader,
  sniffFormat,
  type ImageFormat,
  type ImageHeader,
} from './data/image-header.js';
export { checkPngChunks } from './data/png-chunks.js';
export { adler32, encodePng } from './data/png-write.js';
export {
  loadFolderEntries,
  toPlanar,
  type FolderEntry,
  type FolderImages,
  type FolderOptions,
  type SkippedFile,
} from './data/folder.js';
export type { DecodedImage, ImageDecoder } from './data/decoder.js';
export { loadImageTree } from './data/folder-tree.js';
export type { DirectoryEntry, FileSystem } from './io/file-system.js';
export { SafetensorsError, SafetensorsFile, type SafetensorsDType, type TensorEntry } from './io/safetensors.js';
export {
  encodeSafetensors,
  writeSafetensors,
  type NamedTensor,
  type TensorSet,
  type WriteOptions,
} from './io/safetensors-write.js';
export { floatToHalf, halfToFloat } from './io/float16.js';
export { bytesSource, type ByteSource, type ChunkSink, type Folder } from './io/source.js';
export { blobFolder, blobSource, type BlobFolder } from './io/source-blob.js';
export { openTensors, type TensorStore } from './io/tensor-store.js';
export { CheckpointError } from './io/errors.js';
export type { CheckpointLayout, Naming } from './io/vit-naming.js';
export { splitQkvWeights } from './io/vit-naming.js';
export { geometryOf, GeometryError, type Geometry } from './io/geometry.js';
export {
  loadCheckpoint,
  replaceHead,
  saveCheckpoint,
  withFreshHead,
  type LoadCheckpointOptions,
  type LoadedCheckpoint,
  type SaveCheckpointOptions,
} from './io/checkpoint.js';
export {
  exportReferenceState,
  loadAdapter,
  saveAdapter,
  saveReferenceState,
  referenceSparsities,
  ALLOC_VOLUME_FILE,
  type LoadedAdapter,
  type SaveAdapterOptions,
} from './io/adapter.js';
export { applySparseDelta, mergeAdapter, saveMerged, saveSparseDelta, sparseDelta } from './io/merge.js';
export { lmConfigJson, parseLmConfig, type LmActivation, type LmArch, type LmConfig } from './io/lm-config.js';
export {
  detectLmLayout,
  embeddingName,
  fromLmName,
  LM_PREFIX,
  lmHeadWeight,
  lmWeightShapes,
  toLmName,
  type LmLayout,
} from './io/lm-naming.js';
export { loadLmCheckpoint, saveLmCheckpoint, type LoadedLm, type LoadLmOptions, type SaveLmOptions } from './io/lm-checkpoint.js';
export { loadLmAdapter, saveLmAdapter, type LoadedLmAdapter, type SaveLmAdapterOptions } from './io/lm-adapter.js';
export { loadLmTokenizer } from './io/lm-tokenizer.js';
export { mergeLmAdapter, saveMergedLm } from './io/lm-merge.js';
export { peftLoraState, savePeftLora } from './io/lm-peft-lora.js';
export { initDecoderWeights } from './io/lm-init.js';
export { DecoderLM, type DecoderOptions, type DecoderTask, type TokenBatch } from './model/decoder/lm.js';
export {
  type DecoderArch,
  type DecoderConfig,
  type DecoderMethod,
  type DecoderPlan,
  PROJECTIONS,
  targetNames,
} from './model/decoder/config.js';
export type { KvCache } from './model/decoder/kv-cache.js';
export { singleDecoderLayer, type SingleDecoderLayer } from './model/decoder/single-layer.js';
export { embeddedCheckpoint } from './pretrained/index.js';
export { Tokenizer, type DecodeOptions, type EncodeOptions } from './text/tokenizer.js';
export { TokenizerError } from './text/errors.js';
export type { BatchOptions, EncodedBatch, Side } from './text/batch.js';
export type { TokenizerConfigJson, TokenizerJson } from './text/tokenizer-json.js';
export { generate, type GenerateOptions } from './text/generate.js';
export { greedyToken, TokenSampler, tokenDistribution, type SamplingOptions, type TokenDistribution } from './text/sampler.js';
export {
  causalLmWindows,
  classificationBatch,
  IGNORE_INDEX,
  splitTrainTest,
  type CausalLmOptions,
  type CausalLmWindows,
  type ClassificationBatch,
  type ClassificationOptions,
  type LabeledText,
  type SplitOptions,
} from './text/lm-data.js';
export { LmTrainer } from './train/lm-trainer.js';
export type { LmCheckpoint, LmEpochEvent, LmFitOptions, LmStepEvent } from './train/lm-options.js';
export type { LmEvaluation, LmModel } from './train/lm-passes.js';
export type { CausalRows, ClassifyRows, LmRows, LmTask } from './train/lm-examples.js';
export { trainBpe, type BpeTrainOptions, type TrainedBpe } from './text/bpe-train.js';
export {
  brownCategories,
  brownCorpus,
  brownText,
  emailText,
  spamAssassinCorpus,
  spamEmail,
  type BrownText,
  type SpamEmail,
} from './data/text-corpora.js';

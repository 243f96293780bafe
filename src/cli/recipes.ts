// Training recipes: the hyper-parameters of published training scripts, as `snell train --recipe`.
//
// snell-vtab: the SNELL authors' VTAB-1k scripts for ViT-B/16 (github.com/ssfgunner/SNELL,
// scripts/vtab/snell32/*.sh, with train.py's argument defaults for what the scripts leave unset):
//   lr 1e-3            every task's --lr but patch_camelyon's 7e-4; AdamW, betas (0.9, 0.999), eps 1e-8
//   weight-decay 0.01  the most common --weight-decay (11 of 19 tasks; the others 1e-4 to 0.05)
//   batch 16           the most common --batch-size (9 of 19; the others 8, 32 or 64)
//   epochs 100         the most common --epochs (11 of 19; the others 200)
//   schedule epoch     timm 0.5.4's CosineLRScheduler stepped once per epoch (train.py)
//   warmup-epochs 10, warmup-lr 1e-6, min-lr 1e-5   train.py's defaults, kept by every script
//   drop-path 0.1      train.py's default stochastic depth, linear over the 12 blocks
//   branch-dropout 0.1, branch-drop-path 0.1         the TuningModule's fixed rates (no script turns them off)
//   rank 32, kernel-heads 2   --low_rank_dim=32, split over the module's two kernels
//   sparsity 0.5       --init_thres is chosen per task (0 to 0.995); 0.5 is the most frequent non-zero value
//   max-grad-norm 0    no clipping (train.py: clip_grad None)
// Their data pipeline for VTAB has no augmentation (--no_aug --direct_resize), as here. Their reported
// figure is the best test accuracy over the evaluations; --select best-val chooses on the validation
// split instead, never on the test set.

import type { Flags } from './args.js';

export const RECIPES: Readonly<Record<string, Readonly<Flags>>> = {
  'snell-vtab': {
    method: 'snell',
    lr: 1e-3,
    'weight-decay': 0.01,
    batch: 16,
    epochs: 100,
    schedule: 'epoch',
    'warmup-epochs': 10,
    'warmup-lr': 1e-6,
    'min-lr': 1e-5,
    'drop-path': 0.1,
    'branch-dropout': 0.1,
    'branch-drop-path': 0.1,
    rank: 32,
    'kernel-heads': 2,
    sparsity: 0.5,
    'max-grad-norm': 0,
  },
};

"""Data layer: records from datasets (real loaders and the paired synthetic generator), crops, augmentation."""

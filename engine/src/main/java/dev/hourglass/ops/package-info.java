/**
 * Types that model code, backends and kernels share: what a linear layer does after its product ({@link
 * dev.hourglass.ops.Epilogue}), Expedit's clustering settings ({@link dev.hourglass.ops.ClusteringParameters}) and
 * timm/PyTorch-exact resizing ({@link dev.hourglass.ops.Resize}). The {@code kernels} package keeps only the kernel
 * facade and its implementations.
 */
package dev.hourglass.ops;

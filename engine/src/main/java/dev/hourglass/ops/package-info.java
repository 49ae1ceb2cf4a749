/**
 * Types that model code, backends and kernels share: what a linear layer does after its product ({@link
 * dev.hourglass.ops.Epilogue}), Expedit's clustering settings ({@link dev.hourglass.ops.ClusteringParameters}) and
 * timm/PyTorch-exact resizing ({@link dev.hourglass.ops.Resize}), and the shapes of convolutions over channels-last
 * feature maps ({@link dev.hourglass.ops.Conv2d}, {@link dev.hourglass.ops.ConvTranspose2d}, with the weight
 * reorderings in {@link dev.hourglass.ops.Convolution}). The {@code kernels} package keeps only the kernel
 * facade and its implementations.
 */
package dev.hourglass.ops;

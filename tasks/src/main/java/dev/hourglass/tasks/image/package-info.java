/**
 * Image input for the tasks: decoding files into 8-bit RGB ({@link dev.hourglass.tasks.image.RgbImage}), Pillow's
 * resampling ported bit for bit ({@link dev.hourglass.tasks.image.PilResize}) and timm's eval-time transform
 * ({@link dev.hourglass.tasks.image.EvalPreprocessing}), so that a model sees the same tensor it would see in timm
 * (torchvision 0.14 transforms on Pillow 9.4 images) for the same file.
 *
 * <p>Everything here is immutable and free of shared mutable state, so it is safe to use from any number of threads.
 */
package dev.hourglass.tasks.image;

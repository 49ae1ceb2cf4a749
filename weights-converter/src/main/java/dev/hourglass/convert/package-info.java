/**
 * Imports original checkpoints (timm and Hugging Face safetensors, Segmenter, DPT and CF-ViT PyTorch {@code .pth})
 * into Hourglass's own safetensors layout. The conversion itself is not implemented yet (tracked by its own issue);
 * reading PyTorch checkpoints is: {@link dev.hourglass.convert.pth.PthFile} opens a {@code torch.save} file as a
 * {@link dev.hourglass.safetensors.TensorSource}, like a safetensors file.
 */
package dev.hourglass.convert;

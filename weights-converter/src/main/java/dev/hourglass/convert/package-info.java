/**
 * Imports original checkpoints (timm and Hugging Face safetensors, Segmenter, DPT and CF-ViT PyTorch {@code .pth})
 * into Hourglass's own layout. {@link dev.hourglass.convert.Converter#open} reads a checkpoint as a
 * {@link dev.hourglass.convert.ConvertedModel} (canonical names, configuration in the metadata, tensors read on demand)
 * which the engine loads directly; {@link dev.hourglass.convert.Converter#write} writes it as an Hourglass model file;
 * {@link dev.hourglass.convert.Converter#inspect} reports on it. {@link dev.hourglass.convert.pth.PthFile} opens a
 * {@code torch.save} file as a {@link dev.hourglass.safetensors.TensorSource} through a restricted unpickler.
 */
package dev.hourglass.convert;

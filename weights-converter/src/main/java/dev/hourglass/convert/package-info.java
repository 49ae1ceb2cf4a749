/**
 * Imports original checkpoints (timm and Hugging Face safetensors, Segmenter, DPT and CF-ViT PyTorch {@code .pth})
 * into Hourglass's own safetensors layout. Not implemented yet: tracked by its own issue.
 */
package dev.hourglass.convert;

/**
 * Reading PyTorch checkpoints ({@code .pth}, {@code .pt} written by {@code torch.save} since PyTorch 1.6) in pure
 * Java, safely: {@link dev.hourglass.convert.pth.PthFile} opens one as a
 * {@link dev.hourglass.safetensors.TensorSource}, so that the converter treats it like a safetensors file.
 *
 * <p>The pickle inside a checkpoint is read by a restricted unpickler that builds Java values for an allow-list of
 * Python globals (OrderedDict, the tensor and parameter rebuilders, storage classes, dtypes, {@code torch.Size},
 * {@code torch.device}, {@code argparse.Namespace}, sets, bytes) and refuses every other global with a
 * {@link dev.hourglass.convert.pth.PthException}; nothing in a file is ever executed. Sizes and offsets are checked
 * before use, so hostile files are refused without exhausting memory. Legacy (pre-1.6, non-zip) and TorchScript files
 * are recognised and refused with a message saying how to re-save them.
 */
package dev.hourglass.convert.pth;

package dev.hourglass.convert.pth;

/**
 * One storage of a checkpoint, as its persistent id in {@code data.pkl} declares it: the record {@code <top>/data/<key>}
 * of the zip holds {@code numel} elements of {@code dtype} (bytes for {@code torch.UntypedStorage}). Checked against
 * the record when the persistent id is read.
 *
 * @param key    the storage key, naming the record
 * @param dtype  the element type of the storage class ({@link PthDtype#U8} for an untyped storage)
 * @param numel  declared element count
 * @param record the zip entry holding the bytes
 */
record Storage(String key, PthDtype dtype, long numel, ZipArchive.Entry record) {
    /** Declared size in bytes; {@code numel * dtype.byteSize()}, checked not to overflow when created. */
    long byteSize() {
        return numel * dtype.byteSize();
    }
}

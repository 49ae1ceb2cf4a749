package dev.hourglass.convert.pth;

import static dev.hourglass.convert.pth.Quote.quote;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The entries of a zip archive that is memory-mapped whole, read from its central directory (ZIP64 included) and each
 * entry's local header, so that a STORED entry's bytes are a slice of the mapping: nothing is copied, and only the
 * pages a tensor touches are read. {@code java.util.zip.ZipFile} would do the parsing but does not say where an entry's
 * bytes start, and would copy every storage through a stream.
 *
 * <p>Every offset and size is checked against the file before it is used, so a damaged or hostile archive ends in a
 * {@link PthException}, never in an out-of-bounds read or a huge allocation. Accepted: compression methods STORED and
 * DEFLATE, single-disk archives, unencrypted entries. Entry names are decoded as UTF-8.
 */
final class ZipArchive {
    /** One file of the archive. */
    record Entry(String name, int method, long crc, long compressedSize, long size, long dataOffset) {
        boolean stored() {
            return method == METHOD_STORED;
        }
    }

    static final int METHOD_STORED = 0;
    static final int METHOD_DEFLATE = 8;

    /** Deflate cannot shrink data by more than about 1032:1; a larger claimed ratio is a lie (or a bomb). */
    private static final long MAX_DEFLATE_RATIO = 1032;

    private static final int LOCAL_HEADER_SIG = 0x04034b50;
    private static final int CENTRAL_HEADER_SIG = 0x02014b50;
    private static final int EOCD_SIG = 0x06054b50;
    private static final int ZIP64_EOCD_SIG = 0x06064b50;
    private static final int ZIP64_LOCATOR_SIG = 0x07064b50;
    private static final int EOCD_SIZE = 22;
    private static final int ZIP64_LOCATOR_SIZE = 20;
    private static final int ZIP64_EOCD_SIZE = 56;
    private static final int CENTRAL_HEADER_SIZE = 46;
    private static final int LOCAL_HEADER_SIZE = 30;
    private static final int MAX_COMMENT = 0xffff;
    private static final int ZIP64_EXTRA_ID = 0x0001;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final MemorySegment zip;
    private final Map<String, Entry> entries;

    private ZipArchive(Path file, MemorySegment zip, Map<String, Entry> entries) {
        this.file = file;
        this.zip = zip;
        this.entries = entries;
    }

    /** Reads the central directory of the mapped archive {@code zip}. */
    static ZipArchive read(Path file, MemorySegment zip) throws PthException {
        return new Reader(file, zip).read();
    }

    /** Entries by name, in central directory order (directories left out). */
    Map<String, Entry> entries() {
        return entries;
    }

    /** A STORED entry's bytes: a slice of the mapping, {@code length <= entry.size()} bytes from its start. */
    MemorySegment slice(Entry entry, long length) {
        if (!entry.stored() || length < 0 || length > entry.size()) {
            throw new IllegalArgumentException(entry.name() + ": cannot slice " + length + " bytes");
        }
        return zip.asSlice(entry.dataOffset(), length);
    }

    /**
     * A small entry's whole content, on the heap, with its CRC checked.
     *
     * @param limit largest size accepted, checked against the declared size before anything is allocated
     */
    byte[] readSmall(Entry entry, int limit, String what) throws PthException {
        if (entry.size() > limit) {
            throw new PthException(file, entry.name() + " (" + what + ") is " + entry.size()
                    + " bytes, more than the limit of " + limit + " bytes");
        }
        byte[] out = new byte[(int) entry.size()];
        MemorySegment dst = MemorySegment.ofArray(out);
        if (entry.stored()) {
            MemorySegment.copy(zip, entry.dataOffset(), dst, 0, entry.size());
        } else {
            inflate(entry, dst);
        }
        checkCrc(entry, dst);
        return out;
    }

    /** A DEFLATE entry's content, inflated into memory from {@code arena}; its CRC is checked. */
    MemorySegment inflate(Entry entry, Arena arena) throws PthException {
        MemorySegment dst;
        try {
            dst = arena.allocate(Math.max(1, entry.size())).asSlice(0, entry.size());
        } catch (OutOfMemoryError e) {
            // Native memory only (nothing on the heap is affected): report it as the file's problem.
            throw new PthException(file, entry.name() + ": cannot allocate " + entry.size() + " bytes of native"
                    + " memory to inflate it", e);
        }
        inflate(entry, dst);
        checkCrc(entry, dst);
        return dst;
    }

    private void inflate(Entry entry, MemorySegment dst) throws PthException {
        Inflater inflater = new Inflater(true);
        try {
            long inPos = entry.dataOffset();
            long inEnd = entry.dataOffset() + entry.compressedSize();
            long outPos = 0;
            ByteBuffer overflow = ByteBuffer.allocate(1);
            int idle = 0;
            while (!inflater.finished()) {
                if (inflater.needsDictionary()) {
                    throw new PthException(file, entry.name() + ": DEFLATE stream asks for a preset dictionary");
                }
                if (inflater.needsInput()) {
                    if (inPos >= inEnd) {
                        throw new PthException(file, entry.name() + ": compressed data ends early (truncated DEFLATE"
                                + " stream after " + outPos + " of " + entry.size() + " bytes)");
                    }
                    int chunk = (int) Math.min(1 << 20, inEnd - inPos);
                    inflater.setInput(zip.asSlice(inPos, chunk).asByteBuffer());
                    inPos += chunk;
                }
                int n;
                if (outPos < dst.byteSize()) {
                    int room = (int) Math.min(1 << 20, dst.byteSize() - outPos);
                    n = inflater.inflate(dst.asSlice(outPos, room).asByteBuffer());
                    outPos += n;
                } else {
                    // Full: the stream may still have its end marker to consume, but no more data.
                    overflow.clear();
                    n = inflater.inflate(overflow);
                    if (n > 0) {
                        throw new PthException(file, entry.name() + ": inflates to more than its declared "
                                + entry.size() + " bytes");
                    }
                }
                idle = n == 0 && !inflater.needsInput() && !inflater.finished() ? idle + 1 : 0;
                if (idle > 2) {
                    throw new PthException(file, entry.name() + ": DEFLATE stream makes no progress");
                }
            }
            if (outPos != entry.size()) {
                throw new PthException(file, entry.name() + ": inflates to " + outPos + " bytes but the directory"
                        + " declares " + entry.size());
            }
        } catch (DataFormatException e) {
            throw new PthException(file, entry.name() + ": corrupt DEFLATE data (" + e.getMessage() + ")", e);
        } finally {
            inflater.end();
        }
    }

    private void checkCrc(Entry entry, MemorySegment content) throws PthException {
        CRC32 crc = new CRC32();
        for (long pos = 0; pos < content.byteSize(); pos += 1 << 20) {
            crc.update(content.asSlice(pos, Math.min(1 << 20, content.byteSize() - pos)).asByteBuffer());
        }
        if (crc.getValue() != entry.crc()) {
            throw new PthException(file, entry.name() + ": CRC-32 of the content is " + Long.toHexString(crc.getValue())
                    + ", the directory says " + Long.toHexString(entry.crc()) + " (damaged archive)");
        }
    }

    /** The parsing, with bounds-checked little-endian reads that fail with the file's name. */
    private static final class Reader {
        private final Path file;
        private final MemorySegment zip;
        private final long size;

        Reader(Path file, MemorySegment zip) {
            this.file = file;
            this.zip = zip;
            this.size = zip.byteSize();
        }

        ZipArchive read() throws PthException {
            long eocd = findEndOfCentralDirectory();
            long entryCount = u16(eocd + 10, "end of central directory");
            long cdSize = u32(eocd + 12, "end of central directory");
            long cdOffset = u32(eocd + 16, "end of central directory");
            int thisDisk = (int) u16(eocd + 4, "end of central directory");
            int cdDisk = (int) u16(eocd + 6, "end of central directory");
            long cdLimit = eocd;
            long locator = eocd - ZIP64_LOCATOR_SIZE;
            if (locator >= 0 && zip.get(U32, locator) == ZIP64_LOCATOR_SIG) {
                long eocd64 = u64(locator + 8, "ZIP64 end of central directory locator");
                if (eocd64 < 0 || eocd64 > locator - ZIP64_EOCD_SIZE || u32(eocd64, "ZIP64 end of central directory")
                        != (ZIP64_EOCD_SIG & 0xffffffffL)) {
                    throw damaged("the ZIP64 locator points to byte " + Long.toUnsignedString(eocd64)
                            + ", where there is no ZIP64 end of central directory record");
                }
                thisDisk = (int) u32(eocd64 + 16, "ZIP64 end of central directory");
                cdDisk = (int) u32(eocd64 + 20, "ZIP64 end of central directory");
                entryCount = u64(eocd64 + 32, "ZIP64 end of central directory");
                cdSize = u64(eocd64 + 40, "ZIP64 end of central directory");
                cdOffset = u64(eocd64 + 48, "ZIP64 end of central directory");
                cdLimit = eocd64;
            }
            if (thisDisk != 0 || cdDisk != 0) {
                throw new PthException(file, "multi-disk (split) zip archives are not supported");
            }
            if (cdOffset < 0 || cdSize < 0 || cdOffset > cdLimit || cdSize > cdLimit - cdOffset) {
                throw damaged("the central directory (" + Long.toUnsignedString(cdSize) + " bytes at byte "
                        + Long.toUnsignedString(cdOffset) + ") does not lie before its end record at byte " + cdLimit);
            }
            if (entryCount < 0 || entryCount > cdSize / CENTRAL_HEADER_SIZE) {
                throw damaged("the end record claims " + Long.toUnsignedString(entryCount) + " entries, more than a "
                        + cdSize + "-byte central directory can hold");
            }
            Map<String, Entry> entries = new LinkedHashMap<>();
            long p = cdOffset;
            for (long i = 0; i < entryCount; i++) {
                p = readCentralEntry(p, cdOffset + cdSize, entries);
            }
            return new ZipArchive(file, zip, Collections.unmodifiableMap(entries));
        }

        private long findEndOfCentralDirectory() throws PthException {
            long lowest = Math.max(0, size - EOCD_SIZE - MAX_COMMENT);
            for (long p = size - EOCD_SIZE; p >= lowest; p--) {
                if (zip.get(U32, p) == EOCD_SIG && p + EOCD_SIZE + (zip.get(U16, p + 20) & 0xffff) <= size) {
                    return p;
                }
            }
            throw damaged("no end of central directory record in its last " + (size - lowest) + " bytes");
        }

        private long readCentralEntry(long p, long cdEnd, Map<String, Entry> entries) throws PthException {
            if (p > cdEnd - CENTRAL_HEADER_SIZE) {
                throw damaged("central directory entry at byte " + p + " runs past the directory's end at " + cdEnd);
            }
            if (zip.get(U32, p) != CENTRAL_HEADER_SIG) {
                throw damaged("no central directory entry signature at byte " + p);
            }
            int flags = (int) u16(p + 8, "central directory entry");
            int method = (int) u16(p + 10, "central directory entry");
            long crc = u32(p + 16, "central directory entry");
            long compressed = u32(p + 20, "central directory entry");
            long uncompressed = u32(p + 24, "central directory entry");
            int nameLength = (int) u16(p + 28, "central directory entry");
            int extraLength = (int) u16(p + 30, "central directory entry");
            int commentLength = (int) u16(p + 32, "central directory entry");
            long diskStart = u16(p + 34, "central directory entry");
            long localOffset = u32(p + 42, "central directory entry");
            long next = p + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
            if (next > cdEnd) {
                throw damaged("central directory entry at byte " + p + " runs past the directory's end at " + cdEnd);
            }
            byte[] nameBytes = zip.asSlice(p + CENTRAL_HEADER_SIZE, nameLength).toArray(ValueLayout.JAVA_BYTE);
            String name = new String(nameBytes, StandardCharsets.UTF_8);

            // ZIP64 extended information: 64-bit values for exactly the fields that hold their 0xFFFF... marker.
            long extra = p + CENTRAL_HEADER_SIZE + nameLength;
            long extraEnd = extra + extraLength;
            while (extra + 4 <= extraEnd) {
                int id = zip.get(U16, extra) & 0xffff;
                int length = zip.get(U16, extra + 2) & 0xffff;
                long data = extra + 4;
                if (data + length > extraEnd) {
                    throw damaged("entry " + quote(name) + ": extra field " + id + " runs past the entry's extra data");
                }
                if (id == ZIP64_EXTRA_ID) {
                    long q = data;
                    if (uncompressed == 0xffffffffL) {
                        uncompressed = zip64Value(name, q, data + length);
                        q += 8;
                    }
                    if (compressed == 0xffffffffL) {
                        compressed = zip64Value(name, q, data + length);
                        q += 8;
                    }
                    if (localOffset == 0xffffffffL) {
                        localOffset = zip64Value(name, q, data + length);
                        q += 8;
                    }
                    if (diskStart == 0xffff) {
                        if (q + 4 > data + length) {
                            throw damaged("entry " + quote(name) + ": ZIP64 extra field lacks the disk number");
                        }
                        diskStart = zip.get(U32, q) & 0xffffffffL;
                    }
                }
                extra = data + length;
            }

            if (name.endsWith("/")) {
                return next;  // a directory
            }
            if ((flags & 1) != 0) {
                throw new PthException(file, "entry " + quote(name) + " is encrypted");
            }
            if (method != METHOD_STORED && method != METHOD_DEFLATE) {
                throw new PthException(file, "entry " + quote(name) + " uses compression method " + method
                        + "; only 0 (stored) and 8 (deflate) are supported");
            }
            if (diskStart != 0) {
                throw new PthException(file, "multi-disk (split) zip archives are not supported");
            }
            if (compressed < 0 || uncompressed < 0 || localOffset < 0) {
                throw damaged("entry " + quote(name) + " has a size or offset beyond 2^63");
            }
            if (method == METHOD_STORED && compressed != uncompressed) {
                throw damaged("stored entry " + quote(name) + " has compressed size " + compressed
                        + " but size " + uncompressed);
            }
            if (method == METHOD_DEFLATE && uncompressed / MAX_DEFLATE_RATIO > compressed + 1) {
                throw damaged("entry " + quote(name) + " claims " + uncompressed + " bytes from " + compressed
                        + " compressed bytes, more than DEFLATE can expand");
            }
            long dataOffset = localData(name, nameBytes, localOffset);
            if (compressed > size - dataOffset) {
                throw damaged("entry " + quote(name) + ": its " + compressed + " bytes at byte " + dataOffset
                        + " run past the end of the " + size + "-byte file (truncated)");
            }
            Entry entry = new Entry(name, method, crc, compressed, uncompressed, dataOffset);
            if (entries.putIfAbsent(name, entry) != null) {
                throw damaged("entry " + quote(name) + " appears twice in the central directory");
            }
            return next;
        }

        private long zip64Value(String name, long at, long end) throws PthException {
            if (at + 8 > end) {
                throw damaged("entry " + quote(name) + ": ZIP64 extra field is too short for the values it must hold");
            }
            return zip.get(U64, at);
        }

        /** Offset of an entry's data: after its local header, whose name must match the directory's. */
        private long localData(String name, byte[] nameBytes, long local) throws PthException {
            if (local > size - LOCAL_HEADER_SIZE || zip.get(U32, local) != LOCAL_HEADER_SIG) {
                throw damaged("entry " + quote(name) + ": no local header at byte " + local);
            }
            int nameLength = zip.get(U16, local + 26) & 0xffff;
            int extraLength = zip.get(U16, local + 28) & 0xffff;
            long data = local + LOCAL_HEADER_SIZE + nameLength + extraLength;
            if (data > size) {
                throw damaged("entry " + quote(name) + ": local header at byte " + local + " runs past the file's end");
            }
            if (nameLength != nameBytes.length || MemorySegment.mismatch(zip, local + LOCAL_HEADER_SIZE,
                    local + LOCAL_HEADER_SIZE + nameLength, MemorySegment.ofArray(nameBytes), 0, nameLength) != -1) {
                throw damaged("entry " + quote(name) + ": the local header at byte " + local + " names another file");
            }
            return data;
        }

        private long u16(long at, String what) throws PthException {
            check(at, 2, what);
            return zip.get(U16, at) & 0xffff;
        }

        private long u32(long at, String what) throws PthException {
            check(at, 4, what);
            return zip.get(U32, at) & 0xffffffffL;
        }

        private long u64(long at, String what) throws PthException {
            check(at, 8, what);
            return zip.get(U64, at);
        }

        private void check(long at, int length, String what) throws PthException {
            if (at < 0 || at > size - length) {
                throw damaged(what + " at byte " + at + " runs past the end of the " + size + "-byte file");
            }
        }

        private PthException damaged(String problem) {
            return new PthException(file, "truncated or damaged zip archive: " + problem);
        }
    }
}

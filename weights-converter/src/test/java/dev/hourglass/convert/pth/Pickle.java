package dev.hourglass.convert.pth;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Builds pickles opcode by opcode, and checkpoint zips around them, for tests that need inputs {@code torch.save}
 * would never write. Nothing here unpickles anything.
 */
public final class Pickle {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** A pickle starting with PROTO 2, as torch.save writes. */
    static Pickle proto2() {
        return new Pickle().raw(0x80, 2);
    }

    /** Raw bytes (opcodes and arguments). */
    Pickle raw(int... bytes) {
        for (int b : bytes) {
            out.write(b);
        }
        return this;
    }

    Pickle raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    Pickle op(char opcode) {
        out.write(opcode);
        return this;
    }

    /** BINUNICODE. */
    Pickle str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return op('X').u32(b.length).raw(b);
    }

    /** BININT. */
    Pickle integer(int v) {
        return op('J').u32(v);
    }

    Pickle u32(long v) {
        return raw((int) (v & 0xff), (int) (v >>> 8 & 0xff), (int) (v >>> 16 & 0xff), (int) (v >>> 24 & 0xff));
    }

    Pickle u64(long v) {
        for (int i = 0; i < 8; i++) {
            out.write((int) (v >>> (8 * i) & 0xff));
        }
        return this;
    }

    /** LONG1 holding {@code v} in 8 bytes. */
    Pickle long1(long v) {
        return raw(0x8a, 8).u64(v);
    }

    /** GLOBAL module name. */
    Pickle global(String module, String name) {
        return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** An empty OrderedDict (GLOBAL, EMPTY_TUPLE, REDUCE). */
    Pickle orderedDict() {
        return global("collections", "OrderedDict").op(')').op('R');
    }

    /** A tuple of BININTs. */
    Pickle ints(long... values) {
        op('(');
        for (long v : values) {
            integer((int) v);
        }
        return op('t');
    }

    /** BINPERSID of ('storage', torch.<storageClass>, key, 'cpu', numel). */
    Pickle persid(String storageClass, String key, long numel) {
        return op('(').str("storage").global("torch", storageClass).str(key).str("cpu").integer((int) numel)
                .op('t').op('Q');
    }

    /** _rebuild_tensor_v2(persid, offset, size, stride, False, OrderedDict()). */
    Pickle tensor(String storageClass, String key, long numel, long offset, long[] size, long[] stride) {
        return global("torch._utils", "_rebuild_tensor_v2").op('(').persid(storageClass, key, numel)
                .integer((int) offset).ints(size).ints(stride).raw(0x89).orderedDict().op('t').op('R');
    }

    /** STOP. */
    Pickle stop() {
        return op('.');
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    // ---------------------------------------------------------------- zips

    /** A zip of STORED entries, given as name, content, name, content... ({@code byte[]} or {@code String}). */
    static byte[] zip(Object... nameAndContent) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        for (int i = 0; i < nameAndContent.length; i += 2) {
            Object content = nameAndContent[i + 1];
            entries.put((String) nameAndContent[i], content instanceof String s
                    ? s.getBytes(StandardCharsets.UTF_8) : (byte[]) content);
        }
        return zip(entries, false);
    }

    /** A well-formed zip (CRCs and sizes right), entries STORED as torch.save writes them or DEFLATEd. */
    public static byte[] zip(Map<String, byte[]> entries, boolean deflate) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                entry.setTime(315532800000L);
                if (!deflate) {
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    entry.setMethod(ZipEntry.STORED);
                    entry.setSize(e.getValue().length);
                    entry.setCompressedSize(e.getValue().length);
                    entry.setCrc(crc.getValue());
                }
                zip.putNextEntry(entry);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** A checkpoint zip: {@code archive/data.pkl} = this pickle, {@code archive/version}, then the given entries. */
    byte[] checkpoint(Object... moreNamesAndContents) {
        Object[] all = new Object[4 + moreNamesAndContents.length];
        all[0] = "archive/data.pkl";
        all[1] = bytes();
        all[2] = "archive/version";
        all[3] = "3\n";
        System.arraycopy(moreNamesAndContents, 0, all, 4, moreNamesAndContents.length);
        return zip(all);
    }

    static Path write(Path folder, String name, byte[] content) {
        try {
            return Files.write(folder.resolve(name), content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The test resource {@code pth/<name>}, written by tools/make_pth_fixtures.py. */
    static Path fixture(String name) {
        try {
            return Path.of(Pickle.class.getResource("/pth/" + name).toURI());
        } catch (Exception e) {
            throw new IllegalStateException("missing fixture pth/" + name + "; run tools/make_pth_fixtures.py", e);
        }
    }
}

package dev.hourglass.tasks.image.fuzz;

import static dev.hourglass.tasks.image.ImageEncoding.encode;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hourglass.convert.fuzz.Fuzzer;
import dev.hourglass.convert.fuzz.Mutator;
import dev.hourglass.tasks.image.ImageReadException;
import dev.hourglass.tasks.image.RgbImage;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RgbImage#read(Path, long)} on mutants of small valid images of every format ImageIO reads here (PNG of each
 * colour type, bit depth and interlacing; JPEG baseline, progressive and grey; BMP uncompressed and RLE; GIF plain and
 * interlaced; TIFF uncompressed, LZW, Deflate, PackBits and JPEG; WBMP), made in the test with ImageIO's writers, plus
 * the small Pillow-written fixtures of {@code preprocess/formats}. Each mutant is read (at most {@link #MAX_PIXELS}
 * pixels, as asked) or refused with an {@link ImageReadException} naming the file, within {@link Fuzzer#HANG}; an
 * exception from ImageIO's internals, an {@link OutOfMemoryError} from a declared size, or a hang is a crash. Runs
 * through the converter's harness ({@link Fuzzer}, {@link Mutator}); short by default, a long run with
 * {@code -Dhourglass.fuzz.iterations=N}.
 */
class ImageFuzzTest {
    /**
     * The pixel limit the mutants are read with: a declared size up to it is decoded (4 Mpixel, 32 MB at 16-bit RGBA:
     * cheap enough for thousands of mutants), a larger one refused from the header.
     */
    private static final long MAX_PIXELS = 1L << 22;
    /**
     * Where the fields readers trust lie (PNG's IHDR, BMP's and GIF's headers, TIFF's first directory, most JPEG
     * frame headers): one mutant in four also gets an integer field there overwritten.
     */
    private static final int HEADER_BYTES = 192;
    /**
     * The Pillow-written fixtures small enough to mutate quickly, valid or refused by design (CMYK, a 20000x20000
     * header): RgbImageFormatsTest and RgbImageReadTest check them.
     */
    private static final List<String> FIXTURES = List.of("bilevel.png", "cmyk.jpg", "gray.jpg", "gray16.png",
            "gray2bit.png", "gray_alpha.png", "huge_header.png", "palette_transparent.png", "patch_444.jpg");
    /** Markers, chunk names and block introducers of the formats, and awkward values for their fields. */
    private static final List<byte[]> TOKENS = Mutator.bytes(
            "\u0089PNG\r\n\u001a\n", "IHDR", "PLTE", "tRNS", "IDAT", "IEND", "iCCP", "zTXt", "iTXt", "sBIT", "acTL",
            "\u0000\u0000\u0000\u0000IDAT", "\u007f\u00ff\u00ff\u00ffIDAT", "\u0000\u0000\u0000\rIHDR",
            "\u00ff\u00d8", "\u00ff\u00d9", "\u00ff\u00c0", "\u00ff\u00c1", "\u00ff\u00c2", "\u00ff\u00c3",
            "\u00ff\u00c4", "\u00ff\u00cc", "\u00ff\u00da", "\u00ff\u00db", "\u00ff\u00dd\u0000\u0004\u0000\u0001",
            "\u00ff\u00e0", "\u00ff\u00e1\u0000\u0010Exif\u0000\u0000", "\u00ff\u00e2\u0000\u0010ICC_PROFILE\u0000",
            "\u00ff\u00ee\u0000\u000eAdobe", "\u00ff\u00fe", "\u00ff\u00ff", "\u00ff\u0000", "\u00ff\u00d0",
            "GIF87a", "GIF89a", "!\u00f9\u0004", "!\u00ff\u000bNETSCAPE2.0", "!\u00fe", ",", ";", "\u0000",
            "BM", "\u0028\u0000\u0000\u0000", "\u0001\u0000\u0008\u0000", "\u0000\u0000", "\u0000\u0001", "\u0000\u0002",
            "II*\u0000", "MM\u0000*", "\u0000\u0001\u0003\u0000", "\u0001\u0001\u0003\u0000", "\u0011\u0001\u0004\u0000",
            "\u0017\u0001\u0004\u0000", "\u0003\u0001\u0003\u0000", "\u0042\u0001\u0004\u0000",
            "\u00ff\u00ff\u00ff\u007f", "\u00ff\u00ff", "\u0080\u0000\u0000\u0000");

    @TempDir
    Path folder;

    @Test
    void everyImageMutantIsReadOrRefused() throws IOException {
        List<byte[]> seeds = written();
        for (byte[] seed : seeds) {
            // A seed that does not read would make its mutants mostly refusals: check the writers made valid files.
            Path file = folder.resolve("seed");
            Files.write(file, seed);
            read(file);
        }
        for (String name : FIXTURES) {
            seeds.add(Files.readAllBytes(fixture(name)));
        }
        seeds.addAll(refusedByDesign());
        Mutator mutator = new Mutator(seeds, TOKENS, ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN);
        Function<SplittableRandom, byte[]> mutants = random -> {
            byte[] data = mutator.mutant(random);
            return data.length > 0 && random.nextInt(4) == 0
                    ? mutator.field(data, random, random.nextInt(Math.min(data.length, HEADER_BYTES))) : data;
        };
        Fuzzer.Report report = Fuzzer.run("image", mutants, 600, folder.resolve("fuzzed-image"),
                ImageFuzzTest::read, Fuzzer.documented(ImageReadException.class));
        assertTrue(report.read() > 0 && !report.refused().isEmpty(), "the mutants must exercise both outcomes: "
                + report);
    }

    /** Reads the file as the command line does, and checks that what it returns keeps the limit it was given. */
    private static void read(Path file) throws ImageReadException {
        RgbImage image = RgbImage.read(file, MAX_PIXELS);
        long pixels = (long) image.width() * image.height();
        if (pixels < 1 || pixels > MAX_PIXELS) {
            throw new AssertionError(file + ": read as " + image + ", outside 1.." + MAX_PIXELS + " pixels");
        }
    }

    /** Small valid files of each format and layout, written by ImageIO's writers. */
    private static List<byte[]> written() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        BufferedImage rgb = picture(13, 11, BufferedImage.TYPE_3BYTE_BGR);
        BufferedImage jpegSized = picture(24, 17, BufferedImage.TYPE_3BYTE_BGR);
        seeds.add(write(rgb, "png", null));
        seeds.add(write(rgb, "png", ImageWriteParam.MODE_DEFAULT));                     // Adam7 interlaced
        seeds.add(write(picture(13, 11, BufferedImage.TYPE_4BYTE_ABGR), "png", null));
        seeds.add(write(picture(13, 11, BufferedImage.TYPE_USHORT_GRAY), "png", null));
        seeds.add(write(picture(13, 11, BufferedImage.TYPE_BYTE_INDEXED), "png", null));
        seeds.add(write(picture(13, 11, BufferedImage.TYPE_BYTE_BINARY), "png", ImageWriteParam.MODE_DEFAULT));
        seeds.add(write(jpegSized, "jpeg", null));                                      // baseline, 4:2:0
        seeds.add(write(jpegSized, "jpeg", ImageWriteParam.MODE_DEFAULT));              // progressive
        seeds.add(write(picture(24, 17, BufferedImage.TYPE_BYTE_GRAY), "jpeg", null));
        seeds.add(write(rgb, "bmp", null));
        seeds.add(write(picture(13, 11, BufferedImage.TYPE_BYTE_INDEXED), "bmp", null));
        seeds.add(compressed(picture(13, 11, BufferedImage.TYPE_BYTE_INDEXED), "bmp", "BI_RLE8"));
        seeds.add(write(picture(13, 11, BufferedImage.TYPE_BYTE_INDEXED), "gif", null));
        seeds.add(write(picture(13, 11, BufferedImage.TYPE_BYTE_INDEXED), "gif", ImageWriteParam.MODE_DEFAULT));
        seeds.add(write(rgb, "tiff", null));
        for (String compression : List.of("LZW", "Deflate", "PackBits", "JPEG")) {
            seeds.add(compressed(jpegSized, "tiff", compression));
        }
        seeds.add(encode(picture(40, 37, BufferedImage.TYPE_3BYTE_BGR), "tiff", param -> {
            param.setTilingMode(ImageWriteParam.MODE_EXPLICIT);
            param.setTiling(16, 16, 0, 0);
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionType("JPEG");
        }));
        seeds.add(write(picture(13, 11, BufferedImage.TYPE_BYTE_BINARY), "wbmp", null));
        return seeds;
    }

    /**
     * Files refused whatever their content, mutated all the same: their mutants reach the refusal's checks and, where
     * a mutation hides what is refused, ImageIO's readers of those layouts.
     */
    private static List<byte[]> refusedByDesign() throws IOException {
        BufferedImage rgb = picture(13, 11, BufferedImage.TYPE_3BYTE_BGR);
        return List.of(compressed(rgb, "bmp", "BI_PNG"), compressed(rgb, "bmp", "BI_JPEG"));
    }

    /** A seeded, noisy gradient, so that every compressor has real work (and every decoder real data). */
    private static BufferedImage picture(int width, int height, int type) {
        BufferedImage image = new BufferedImage(width, height, type);
        SplittableRandom random = new SplittableRandom(width * 31L + height);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int r = (x * 255 / width + random.nextInt(32)) & 0xff;
                int g = (y * 255 / height + random.nextInt(32)) & 0xff;
                int b = ((x + y) * 9 + random.nextInt(64)) & 0xff;
                image.setRGB(x, y, 0x80000000 | random.nextInt(0x80) << 24 | r << 16 | g << 8 | b);
            }
        }
        return image;
    }

    /** The image in {@code format}, progressive (interlaced) when {@code progressive} is set. */
    private static byte[] write(BufferedImage image, String format, Integer progressive) throws IOException {
        return encode(image, format, param -> {
            if (progressive != null) {
                param.setProgressiveMode(progressive);
            }
        });
    }

    private static byte[] compressed(BufferedImage image, String format, String compression) throws IOException {
        return encode(image, format, param -> {
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionType(compression);
        });
    }

    private static Path fixture(String name) {
        try {
            var url = ImageFuzzTest.class.getResource("/preprocess/formats/" + name);
            if (url == null) {
                throw new UncheckedIOException(new IOException("test fixture preprocess/formats/" + name
                        + " is missing"));
            }
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}

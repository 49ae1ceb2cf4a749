package dev.hourglass.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import javax.imageio.ImageIO;

import picocli.CommandLine;

import dev.hourglass.tasks.image.RgbImage;

/** Runs the hourglass command line in-process and captures what it prints. */
record CliRunner(int exitCode, String out, String err) {

    static CliRunner run(String... args) {
        CommandLine cl = HourglassCommand.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new CliRunner(code, out.toString(), err.toString());
    }

    /** The warning lines printed on standard error. */
    java.util.List<String> warnings() {
        return err.lines().filter(l -> l.contains(": warning: ")).toList();
    }

    /** TinyModels' weights written to {@code dir/bare} without their config.json: a bare timm state dict. */
    static Path bareTimmFolder(Path dir, long seed) throws IOException {
        Path folder = dev.hourglass.tasks.classify.TinyModels.write(dir.resolve("bare"), seed);
        java.nio.file.Files.delete(folder.resolve("config.json"));
        return folder;
    }

    /** An all-zero preprocessed input, {@code x.npy} in {@code dir}: [1, 3, 16, 16] float32. */
    static Path zeroInput(Path dir) throws IOException {
        Path x = dir.resolve("x.npy");
        dev.hourglass.tensor.Npy.write(x, new float[3 * 16 * 16], 1, 3, 16, 16);
        return x;
    }

    /** A small 37x29 PNG, {@code in.png} in {@code dir}, with every byte value present. */
    static Path image(Path dir) throws IOException {
        byte[] px = new byte[37 * 29 * 3];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * 31);
        }
        Path file = dir.resolve("in.png");
        ImageIO.write(RgbImage.of(37, 29, px).toBufferedImage(), "png", file.toFile());
        return file;
    }
}

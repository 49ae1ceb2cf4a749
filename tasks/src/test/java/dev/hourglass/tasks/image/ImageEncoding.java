package dev.hourglass.tasks.image;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.function.Consumer;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/** Test files made in memory with ImageIO's own writers: seeds for the image reader's tests and its fuzzer. */
public final class ImageEncoding {
    private ImageEncoding() {
    }

    /**
     * {@code image} encoded as {@code format} (an ImageIO format name) with the writer's default parameters as
     * {@code settings} changes them (compression, progressive mode, ...).
     */
    public static byte[] encode(BufferedImage image, String format, Consumer<ImageWriteParam> settings)
            throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName(format).next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            settings.accept(param);
            writer.write(null, new IIOImage(image, null, null), param);
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }
}

package dev.hourglass.tasks.segment;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.font.FontRenderContext;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Pictures side by side under their titles, a heading above them and a legend strip of class colours below: one
 * readable picture per image (the image, its ground truth, predictions, clusters) for a demo or a report.
 *
 * <p>Each panel is copied pixel for pixel at its own size, never scaled, so a panel in the sheet is exactly the
 * picture given, and each legend swatch is a solid square of its class's colour; {@link #panelBounds} and
 * {@link #swatchBounds} say where they are. Text is drawn in the logical sans-serif font, which renders headless
 * (with {@code java.awt.headless=true}); its anti-aliased edges may differ between JDKs and fonts installed, the panels
 * and swatches do not.
 */
public final class SegmentationSheet {
    /** A picture and the title written above it. */
    public record Panel(String title, BufferedImage picture) {
        public Panel {
            Objects.requireNonNull(title, "title");
            Objects.requireNonNull(picture, "picture");
        }
    }

    /** A class name and its colour ({@code 0xRRGGBB}). */
    public record LegendEntry(String name, int rgb) {
        public LegendEntry {
            Objects.requireNonNull(name, "name");
        }
    }

    private static final int MARGIN = 16;
    private static final int GAP = 16;
    private static final int HEADING_HEIGHT = 30;
    private static final int TITLE_HEIGHT = 26;
    private static final int LEGEND_GAP = 12;
    private static final int LEGEND_ROW = 26;
    private static final int SWATCH = 18;
    private static final int SWATCH_TO_TEXT = 6;
    private static final int ENTRY_GAP = 24;
    private static final int TITLE_SIZE = 16;
    private static final int SMALLEST_TITLE_SIZE = 10;
    private static final Font HEADING_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 18);
    private static final Font LEGEND_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 15);
    private static final Color TEXT = new Color(0x202020);
    private static final Color SWATCH_BORDER = new Color(0x606060);
    /** Layout measures text as it is drawn: anti-aliased, fractional metrics. */
    private static final FontRenderContext TEXT_CONTEXT = new FontRenderContext(null, true, true);

    private final String heading;
    private final List<Panel> panels;
    private final List<LegendEntry> legend;
    private final Rectangle[] panelBounds;
    private final Rectangle[] swatches;
    private final int width;
    private final int height;

    /**
     * Lays the sheet out: the panels in one row, top-aligned, in the order given; the legend's entries left to right
     * below them, wrapped to the sheet's width.
     *
     * @param heading a line above everything (the image's name, the settings), or null for none
     * @param panels  at least one
     * @param legend  the classes to name, possibly none ({@link #legend(List, int[], int[]...)})
     */
    public SegmentationSheet(String heading, List<Panel> panels, List<LegendEntry> legend) {
        if (panels.isEmpty()) {
            throw new IllegalArgumentException("a sheet needs at least one panel");
        }
        this.heading = heading;
        this.panels = List.copyOf(panels);
        this.legend = List.copyOf(legend);
        int top = MARGIN + (heading == null ? 0 : HEADING_HEIGHT) + TITLE_HEIGHT;
        panelBounds = new Rectangle[this.panels.size()];
        int x = MARGIN;
        int panelHeight = 0;
        for (int i = 0; i < panelBounds.length; i++) {
            BufferedImage picture = this.panels.get(i).picture();
            panelBounds[i] = new Rectangle(x, top, picture.getWidth(), picture.getHeight());
            x += picture.getWidth() + GAP;
            panelHeight = Math.max(panelHeight, picture.getHeight());
        }
        int w = x - GAP + MARGIN;
        if (heading != null) {
            w = Math.max(w, 2 * MARGIN + textWidth(heading, HEADING_FONT));
        }
        width = w;
        swatches = new Rectangle[this.legend.size()];
        int legendTop = top + panelHeight + LEGEND_GAP;
        int ex = MARGIN;
        int row = 0;
        for (int i = 0; i < swatches.length; i++) {
            int entry = SWATCH + SWATCH_TO_TEXT + textWidth(this.legend.get(i).name(), LEGEND_FONT);
            if (ex > MARGIN && ex + entry > width - MARGIN) {
                ex = MARGIN;
                row++;
            }
            swatches[i] = new Rectangle(ex, legendTop + row * LEGEND_ROW + (LEGEND_ROW - SWATCH) / 2, SWATCH, SWATCH);
            ex += entry + ENTRY_GAP;
        }
        height = swatches.length == 0 ? top + panelHeight + MARGIN : legendTop + (row + 1) * LEGEND_ROW + MARGIN;
    }

    /**
     * The legend for {@code labelMaps}: each class that occurs in at least one of them, in class order, with its name
     * and colour. Values that are not classes (an ignore index) are left out.
     */
    public static List<LegendEntry> legend(List<String> classNames, int[] palette, int[]... labelMaps) {
        if (palette.length < classNames.size()) {
            throw new IllegalArgumentException("the palette has " + palette.length + " colours for "
                    + classNames.size() + " classes");
        }
        boolean[] present = new boolean[classNames.size()];
        for (int[] map : labelMaps) {
            for (int l : map) {
                if (l >= 0 && l < present.length) {
                    present[l] = true;
                }
            }
        }
        List<LegendEntry> entries = new ArrayList<>();
        for (int c = 0; c < present.length; c++) {
            if (present[c]) {
                entries.add(new LegendEntry(classNames.get(c), palette[c]));
            }
        }
        return entries;
    }

    /** The sheet's width in pixels. */
    public int width() {
        return width;
    }

    /** The sheet's height in pixels. */
    public int height() {
        return height;
    }

    /** Where panel {@code i}'s picture lies in the sheet (its own size: panels are not scaled). */
    public Rectangle panelBounds(int i) {
        return new Rectangle(panelBounds[i]);
    }

    /** Where legend entry {@code i}'s swatch lies: a square filled with exactly its colour. */
    public Rectangle swatchBounds(int i) {
        return new Rectangle(swatches[i]);
    }

    /** Draws the sheet on a white {@code TYPE_INT_RGB} picture. */
    public BufferedImage draw() {
        BufferedImage sheet = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
            g.setColor(TEXT);
            if (heading != null) {
                g.setFont(HEADING_FONT);
                g.drawString(heading, MARGIN, MARGIN + HEADING_HEIGHT - 10);
            }
            for (int i = 0; i < panelBounds.length; i++) {
                Rectangle r = panelBounds[i];
                g.setFont(titleFont(panels.get(i).title(), r.width));
                Graphics2D clipped = (Graphics2D) g.create(r.x, r.y - TITLE_HEIGHT, r.width, TITLE_HEIGHT);
                try {
                    clipped.drawString(panels.get(i).title(), 0, TITLE_HEIGHT - 8);
                } finally {
                    clipped.dispose();
                }
            }
            g.setFont(LEGEND_FONT);
            for (int i = 0; i < swatches.length; i++) {
                Rectangle s = swatches[i];
                g.setColor(SWATCH_BORDER);
                g.drawRect(s.x - 1, s.y - 1, s.width + 1, s.height + 1);
                g.setColor(TEXT);
                g.drawString(legend.get(i).name(), s.x + s.width + SWATCH_TO_TEXT, s.y + s.height - 3);
            }
        } finally {
            g.dispose();
        }
        // Pixels copied, not drawn: no colour conversion, interpolation or anti-aliasing can touch them.
        for (int i = 0; i < panelBounds.length; i++) {
            Rectangle r = panelBounds[i];
            BufferedImage picture = panels.get(i).picture();
            sheet.setRGB(r.x, r.y, r.width, r.height, picture.getRGB(0, 0, r.width, r.height, null, 0, r.width), 0,
                    r.width);
        }
        for (int i = 0; i < swatches.length; i++) {
            Rectangle s = swatches[i];
            int[] fill = new int[s.width * s.height];
            Arrays.fill(fill, legend.get(i).rgb());
            sheet.setRGB(s.x, s.y, s.width, s.height, fill, 0, s.width);
        }
        return sheet;
    }

    /** The title font, made smaller (down to 10 points) until the title fits its panel's width; clipped beyond. */
    private static Font titleFont(String title, int width) {
        Font font = new Font(Font.SANS_SERIF, Font.BOLD, TITLE_SIZE);
        for (int size = TITLE_SIZE - 1; size >= SMALLEST_TITLE_SIZE && textWidth(title, font) > width; size--) {
            font = font.deriveFont((float) size);
        }
        return font;
    }

    private static int textWidth(String text, Font font) {
        return (int) Math.ceil(font.getStringBounds(text, TEXT_CONTEXT).getWidth());
    }
}

package dev.hourglass.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import javax.imageio.ImageIO;

/**
 * A scatter plot drawn with Java2D and written as PNG: marker series (optionally joined by a line, optionally with a
 * small label beside each point), axes with round-numbered ticks and grid lines, axis titles, a title and a legend
 * placed in the corner of the plot area that has the fewest points. No dependency beyond the JDK.
 */
final class ScatterPlot {

    /** Marker shapes, so that series stay apart in grey print too. */
    enum Marker { CIRCLE, SQUARE, TRIANGLE, DIAMOND, STAR }

    /** One point; {@code label} may be null. */
    record Point(double x, double y, String label) {
    }

    /** One series: its legend name, colour, marker, whether the marker is filled and whether points are joined. */
    record Series(String name, Color color, Marker marker, boolean filled, boolean joined, List<Point> points) {
    }

    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 26);
    private static final Font AXIS = new Font(Font.SANS_SERIF, Font.PLAIN, 22);
    private static final Font TICK = new Font(Font.SANS_SERIF, Font.PLAIN, 18);
    private static final Font LEGEND = new Font(Font.SANS_SERIF, Font.PLAIN, 19);
    private static final Font LABEL = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
    private static final double MARKER = 9;

    private final String title;
    private final String xTitle;
    private final String yTitle;
    private final String xFormat;
    private final String yFormat;
    private final List<Series> series = new ArrayList<>();
    /** Fixed axis ranges (NaN: from the data); points outside are left out. */
    private double[] fixedX = {Double.NaN, Double.NaN};
    private double[] fixedY = {Double.NaN, Double.NaN};

    /**
     * @param xFormat {@link String#format} pattern of the x ticks, e.g. {@code "%.3f"}; {@code yFormat} the y ticks'
     */
    ScatterPlot(String title, String xTitle, String yTitle, String xFormat, String yFormat) {
        this.title = title;
        this.xTitle = xTitle;
        this.yTitle = yTitle;
        this.xFormat = xFormat;
        this.yFormat = yFormat;
    }

    ScatterPlot add(Series s) {
        if (!s.points().isEmpty()) {
            series.add(s);
        }
        return this;
    }

    /** Fixes the axes' ranges (a zoom): points outside are left out, lines cut at the frame. */
    ScatterPlot range(double xMin, double xMax, double yMin, double yMax) {
        fixedX = new double[] {xMin, xMax};
        fixedY = new double[] {yMin, yMax};
        return this;
    }

    /** Draws the plot at {@code width} x {@code height} pixels and writes it as PNG, creating the folder. */
    void write(Path png, int width, int height) throws IOException {
        writePanels(png, width, height, List.of(this));
    }

    /** Draws several plots one above the other, each {@code width} x {@code height}, into one PNG. */
    static void writePanels(Path png, int width, int height, List<ScatterPlot> panels) throws IOException {
        BufferedImage img = new BufferedImage(width, height * panels.size(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            for (ScatterPlot p : panels) {
                Graphics2D pg = (Graphics2D) g.create(0, height * panels.indexOf(p), width, height);
                try {
                    p.draw(pg, width, height);
                } finally {
                    pg.dispose();
                }
            }
        } finally {
            g.dispose();
        }
        if (png.getParent() != null) {
            Files.createDirectories(png.getParent());
        }
        if (!ImageIO.write(img, "png", png.toFile())) {
            throw new IOException("no PNG writer for " + png);
        }
    }

    private void draw(Graphics2D g, int width, int height) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);

        double[] xr = Double.isNaN(fixedX[0]) ? range(true) : fixedX;
        double[] yr = Double.isNaN(fixedY[0]) ? range(false) : fixedY;
        double[] xt = ticks(xr[0], xr[1]);
        double[] yt = ticks(yr[0], yr[1]);
        if (Double.isNaN(fixedX[0])) {
            xr = new double[] {Math.min(xr[0], xt[0]), Math.max(xr[1], xt[xt.length - 1])};
        } else {
            xt = Arrays.stream(xt).filter(v -> v >= fixedX[0] - 1e-12 && v <= fixedX[1] + 1e-12).toArray();
        }
        if (Double.isNaN(fixedY[0])) {
            yr = new double[] {Math.min(yr[0], yt[0]), Math.max(yr[1], yt[yt.length - 1])};
        } else {
            yt = Arrays.stream(yt).filter(v -> v >= fixedY[0] - 1e-12 && v <= fixedY[1] + 1e-12).toArray();
        }

        g.setFont(TICK);
        int yTickWidth = 0;
        for (double v : yt) {
            yTickWidth = Math.max(yTickWidth, g.getFontMetrics().stringWidth(fmt(yFormat, v)));
        }
        double left = 30 + AXIS.getSize() + 16 + yTickWidth;
        double right = width - 30;
        double top = 30 + TITLE.getSize() + 20;
        double bottom = height - (30 + AXIS.getSize() + 16 + TICK.getSize());
        Frame f = new Frame(left, right, top, bottom, xr, yr);

        // Grid and ticks.
        g.setStroke(new BasicStroke(1f));
        FontMetrics tm = g.getFontMetrics(TICK);
        for (double v : xt) {
            double px = f.px(v);
            g.setColor(new Color(225, 225, 225));
            g.draw(new Line2D.Double(px, top, px, bottom));
            g.setColor(Color.DARK_GRAY);
            g.draw(new Line2D.Double(px, bottom, px, bottom + 6));
            String s = fmt(xFormat, v);
            g.drawString(s, (float) (px - tm.stringWidth(s) / 2.0), (float) (bottom + 8 + tm.getAscent()));
        }
        for (double v : yt) {
            double py = f.py(v);
            g.setColor(new Color(225, 225, 225));
            g.draw(new Line2D.Double(left, py, right, py));
            g.setColor(Color.DARK_GRAY);
            g.draw(new Line2D.Double(left - 6, py, left, py));
            String s = fmt(yFormat, v);
            g.drawString(s, (float) (left - 10 - tm.stringWidth(s)), (float) (py + tm.getAscent() / 2.0 - 2));
        }
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1.5f));
        g.draw(new Rectangle2D.Double(left, top, right - left, bottom - top));

        // Titles.
        g.setFont(TITLE);
        FontMetrics fm = g.getFontMetrics();
        g.drawString(title, (float) ((width - fm.stringWidth(title)) / 2.0), (float) (30 + fm.getAscent() - 4));
        g.setFont(AXIS);
        fm = g.getFontMetrics();
        g.drawString(xTitle, (float) ((left + right - fm.stringWidth(xTitle)) / 2.0), (float) (height - 24));
        Graphics2D r = (Graphics2D) g.create();
        r.translate(30 + fm.getAscent(), (top + bottom) / 2.0);
        r.rotate(-Math.PI / 2);
        r.drawString(yTitle, (float) (-fm.stringWidth(yTitle) / 2.0), 0f);
        r.dispose();

        // Series: lines first, then markers, then labels where they hide no marker and no other label.
        Shape clip = g.getClip();
        g.clip(new Rectangle2D.Double(left, top, right - left, bottom - top));
        for (Series s : series) {
            if (s.joined() && s.points().size() > 1) {
                g.setColor(s.color());
                g.setStroke(new BasicStroke(1.6f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
                Path2D.Double p = new Path2D.Double();
                List<Point> pts = new ArrayList<>(s.points());
                pts.sort((a, b) -> Double.compare(a.x(), b.x()));
                p.moveTo(f.px(pts.get(0).x()), f.py(pts.get(0).y()));
                for (Point q : pts.subList(1, pts.size())) {
                    p.lineTo(f.px(q.x()), f.py(q.y()));
                }
                g.draw(p);
            }
        }
        List<Rectangle2D> taken = new ArrayList<>();
        for (Series s : series) {
            for (Point q : s.points()) {
                if (f.inside(q)) {
                    marker(g, s, f.px(q.x()), f.py(q.y()), MARKER);
                    taken.add(new Rectangle2D.Double(f.px(q.x()) - MARKER, f.py(q.y()) - MARKER, 2 * MARKER,
                            2 * MARKER));
                }
            }
        }
        g.setFont(LABEL);
        FontMetrics lm = g.getFontMetrics();
        for (Series s : series) {
            for (Point q : s.points()) {
                if (q.label() != null && f.inside(q)) {
                    label(g, lm, s.color().darker(), q.label(), f.px(q.x()), f.py(q.y()), taken, f);
                }
            }
        }
        g.setClip(clip);
        legend(g, f);
    }

    /**
     * Writes a point's label at the first of eight places around it that overlaps no marker and no label already
     * written, and stays inside the frame; where there is none, leaves the label out (the tables carry it).
     */
    private static void label(Graphics2D g, FontMetrics fm, Color color, String text, double x, double y,
                              List<Rectangle2D> taken, Frame f) {
        double w = fm.stringWidth(text);
        double h = fm.getAscent();
        double d = MARKER + 2;
        double[][] offsets = {
            {d, -d - h / 2 + 2}, {d, d - h / 2 + 2}, {-d - w, -d - h / 2 + 2}, {-d - w, d - h / 2 + 2},
            {-w / 2, -d - h}, {-w / 2, d}, {d + 2, -h / 2}, {-d - 2 - w, -h / 2}};
        for (double[] o : offsets) {
            Rectangle2D box = new Rectangle2D.Double(x + o[0], y + o[1], w, h);
            boolean free = box.getMinX() >= f.left + 2 && box.getMaxX() <= f.right - 2 && box.getMinY() >= f.top + 2
                    && box.getMaxY() <= f.bottom - 2;
            for (Rectangle2D t : taken) {
                free &= !t.intersects(box);
            }
            if (free) {
                g.setColor(color);
                g.drawString(text, (float) box.getMinX(), (float) (box.getMinY() + h - 1));
                taken.add(box);
                return;
            }
        }
    }

    private void legend(Graphics2D g, Frame f) {
        g.setFont(LEGEND);
        FontMetrics fm = g.getFontMetrics();
        List<Series> shown = series.stream().filter(s -> s.points().stream().anyMatch(f::inside)).toList();
        int lineHeight = fm.getHeight() + 6;
        int textWidth = 0;
        for (Series s : shown) {
            textWidth = Math.max(textWidth, fm.stringWidth(s.name()));
        }
        double w = textWidth + 3 * MARKER + 34;
        double h = shown.size() * lineHeight + 16;
        // The corner of the plot area with the fewest points under the legend's box.
        double[][] corners = {
            {f.right - w - 12, f.bottom - h - 12}, {f.left + 12, f.bottom - h - 12},
            {f.right - w - 12, f.top + 12}, {f.left + 12, f.top + 12}};
        double[] best = corners[0];
        int fewest = Integer.MAX_VALUE;
        for (double[] c : corners) {
            int n = 0;
            for (Series s : shown) {
                for (Point q : s.points()) {
                    if (!f.inside(q)) {
                        continue;
                    }
                    double px = f.px(q.x());
                    double py = f.py(q.y());
                    n += px >= c[0] - MARKER && px <= c[0] + w + MARKER && py >= c[1] - MARKER
                            && py <= c[1] + h + MARKER ? 1 : 0;
                }
            }
            if (n < fewest) {
                fewest = n;
                best = c;
            }
        }
        g.setColor(new Color(255, 255, 255, 235));
        g.fill(new Rectangle2D.Double(best[0], best[1], w, h));
        g.setColor(Color.GRAY);
        g.setStroke(new BasicStroke(1f));
        g.draw(new Rectangle2D.Double(best[0], best[1], w, h));
        for (int i = 0; i < shown.size(); i++) {
            Series s = shown.get(i);
            double cy = best[1] + 8 + lineHeight * (i + 0.5);
            double cx = best[0] + 12 + MARKER;
            if (s.joined()) {
                g.setColor(s.color());
                g.setStroke(new BasicStroke(1.6f));
                g.draw(new Line2D.Double(cx - MARKER - 4, cy, cx + MARKER + 4, cy));
            }
            marker(g, s, cx, cy, MARKER);
            g.setColor(Color.BLACK);
            g.drawString(s.name(), (float) (cx + 2 * MARKER + 8), (float) (cy + fm.getAscent() / 2.0 - 3));
        }
    }

    private static void marker(Graphics2D g, Series s, double x, double y, double r) {
        Shape shape = switch (s.marker()) {
            case CIRCLE -> new Ellipse2D.Double(x - r, y - r, 2 * r, 2 * r);
            case SQUARE -> new Rectangle2D.Double(x - r * 0.85, y - r * 0.85, 1.7 * r, 1.7 * r);
            case TRIANGLE -> polygon(x, y, 3, -Math.PI / 2, r * 1.15, r * 1.15);
            case DIAMOND -> polygon(x, y, 4, -Math.PI / 2, r * 1.15, r * 1.15);
            case STAR -> polygon(x, y, 10, -Math.PI / 2, r * 1.5, r * 1.5 * 0.45);
        };
        g.setStroke(new BasicStroke(2f));
        if (s.filled()) {
            g.setColor(s.color());
            g.fill(shape);
            g.setColor(s.color().darker());
        } else {
            g.setColor(Color.WHITE);
            g.fill(shape);
            g.setColor(s.color());
        }
        g.draw(shape);
    }

    /** A polygon of {@code k} vertices around (x, y), the first at angle {@code start}, their radii alternating. */
    private static Shape polygon(double x, double y, int k, double start, double r, double alternate) {
        Path2D.Double p = new Path2D.Double();
        for (int i = 0; i < k; i++) {
            double a = start + 2 * Math.PI * i / k;
            double rr = i % 2 == 0 ? r : alternate;
            if (i == 0) {
                p.moveTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
            } else {
                p.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
            }
        }
        p.closePath();
        return p;
    }

    /** Data range of x (or y), padded by 5% on each side (or by 1 where all values are equal). */
    private double[] range(boolean x) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (Point q : s.points()) {
                double v = x ? q.x() : q.y();
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        if (!(hi >= lo)) {
            return new double[] {0, 1};
        }
        double pad = hi > lo ? 0.05 * (hi - lo) : 1;
        return new double[] {lo - pad, hi + pad};
    }

    /** About six round ticks (1, 2 or 5 times a power of ten apart) covering [lo, hi]. */
    static double[] ticks(double lo, double hi) {
        double raw = (hi - lo) / 6;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = mag * (raw / mag < 1.5 ? 1 : raw / mag < 3.5 ? 2 : raw / mag < 7.5 ? 5 : 10);
        double first = Math.floor(lo / step) * step;
        int n = (int) Math.ceil((hi - first) / step - 1e-9) + 1;
        double[] t = new double[n];
        for (int i = 0; i < n; i++) {
            t[i] = first + i * step;
        }
        return t;
    }

    private static String fmt(String format, double v) {
        return String.format(Locale.ROOT, format, Math.abs(v) < 1e-12 ? 0.0 : v);
    }

    /** Data to pixel coordinates. */
    private record Frame(double left, double right, double top, double bottom, double[] xr, double[] yr) {
        double px(double x) {
            return left + (x - xr[0]) / (xr[1] - xr[0]) * (right - left);
        }

        double py(double y) {
            return bottom - (y - yr[0]) / (yr[1] - yr[0]) * (bottom - top);
        }

        boolean inside(Point q) {
            return q.x() >= xr[0] && q.x() <= xr[1] && q.y() >= yr[0] && q.y() <= yr[1];
        }
    }
}

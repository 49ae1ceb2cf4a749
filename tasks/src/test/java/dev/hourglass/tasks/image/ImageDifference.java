package dev.hourglass.tasks.image;

/** Per-sample comparison of two images of the same size, for assertion messages. */
record ImageDifference(int max, long differing, long samples, int firstX, int firstY, int firstChannel) {

    static ImageDifference between(RgbImage expected, RgbImage actual) {
        if (expected.width() != actual.width() || expected.height() != actual.height()) {
            throw new AssertionError("sizes differ: expected " + expected + ", got " + actual);
        }
        byte[] e = expected.rgb();
        byte[] a = actual.rgb();
        int max = 0;
        long differing = 0;
        int first = -1;
        for (int i = 0; i < e.length; i++) {
            int d = Math.abs((e[i] & 0xFF) - (a[i] & 0xFF));
            if (d != 0) {
                differing++;
                first = first < 0 ? i : first;
            }
            max = Math.max(max, d);
        }
        int pixel = first / 3;
        return new ImageDifference(max, differing, e.length, first < 0 ? -1 : pixel % expected.width(),
                first < 0 ? -1 : pixel / expected.width(), first < 0 ? -1 : first % 3);
    }

    @Override
    public String toString() {
        return "max abs diff " + max + ", " + differing + " of " + samples + " samples differ"
                + (differing == 0 ? "" : ", first at x=" + firstX + " y=" + firstY + " channel " + firstChannel);
    }
}

package dev.hourglass.tasks.segment;

import java.util.ArrayList;
import java.util.List;

/**
 * Where Segmenter's sliding-window inference puts its windows ({@code segm/model/utils.py}): an image whose shorter
 * side is below the window is first scaled up (bilinear) so that side equals the window; windows start every
 * {@code stride} pixels while they fit, and one more window sits flush with the far border.
 */
final class SlidingWindows {
    private SlidingWindows() {
    }

    /**
     * The size the image is brought to before cutting windows: unchanged when both sides are at least the window,
     * otherwise the shorter side becomes the window and the longer one {@code (int) (longer / shorter * window)},
     * computed in double as Python does.
     */
    static int[] scaledSize(int height, int width, int window) {
        if (Math.min(height, width) >= window) {
            return new int[] {height, width};
        }
        if (height < width) {
            double ratio = (double) width / height;
            return new int[] {window, (int) (ratio * window)};
        }
        double ratio = (double) height / width;
        return new int[] {(int) (ratio * window), window};
    }

    /** Window offsets along one axis of {@code size} (at least {@code window}). */
    static int[] anchors(int size, int window, int stride) {
        List<Integer> out = new ArrayList<>();
        for (int a = 0; a < size; a += stride) {
            if (a < size - window) {
                out.add(a);
            }
        }
        out.add(size - window);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}

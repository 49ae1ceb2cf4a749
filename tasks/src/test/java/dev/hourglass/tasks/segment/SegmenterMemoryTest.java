package dev.hourglass.tasks.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** The one-line refusal of an image whose merged class scores cannot fit, before any window runs. */
class SegmenterMemoryTest {
    private static final long GB = 1_000_000_000L;

    @Test
    void aPhotoThatFitsIsAccepted() {
        // 150 classes at 2048 x 1536: 1.9 GB of merged scores in an 8 GB heap.
        assertNull(SemanticSegmenter.mergeTooLarge(1536, 2048, 1536, 2048, 150, 8 * GB));
    }

    @Test
    void tooLargeForTheHeapSaysHowMuchAndWhatToDo() {
        assertEquals("a 4000x3000 image needs 7.3 GB for the merged scores of 150 classes (Segmenter merges its windows"
                        + " at the image's full size); this JVM may use 6.0 GB: segment a smaller copy of the image or"
                        + " give Java more memory (-Xmx)",
                SemanticSegmenter.mergeTooLarge(3000, 4000, 3000, 4000, 150, 6 * GB));
    }

    @Test
    void tooLargeForOneJavaArrayWhateverTheHeap() {
        assertEquals("a 9000x9000 image needs 49.2 GB for the merged scores of 150 classes (Segmenter merges its"
                        + " windows at the image's full size); a Java array holds at most 2^31 values: segment a smaller"
                        + " copy of the image",
                SemanticSegmenter.mergeTooLarge(9000, 9000, 9000, 9000, 150, 100 * GB));
    }
}

package dev.hourglass.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.hourglass.backend.Backend;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.SemanticSegmenter;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VitConfig;

/**
 * The task classes' concurrency contract on the shipped demo models: one model serves many threads with the bits of a
 * sequential run; {@code close()} from another thread waits for the calls in progress (which return their normal
 * results) and makes later calls fail with an {@link IllegalStateException} naming the model; loading and closing
 * leaves no threads, no heap and no off-heap memory behind.
 */
class ConcurrencyTest {
    private static final String DEMO = "dev/hourglass/demo/";
    private static final String CLASSIFIER = DEMO + "shapes-vit";
    private static final String SEGMENTER = DEMO + "shapes-segmenter";
    private static final int CALLERS = 8;

    // ------------------------------------------------------------------ one model, many threads

    @Test
    @Timeout(120)
    void oneClassifierServesEightThreadsWithTheBitsOfASequentialRun() throws Exception {
        try (ImageClassifier classifier = ImageClassifier.loadResource(CLASSIFIER, new ModelOptions(2))) {
            List<Tensor> inputs = new ArrayList<>();
            for (String file : List.of("01-circle.png", "02-square.png", "03-triangle.png", "04-star.png",
                    "05-cross.png", "06-ring.png", "07-horizontal-stripes.png", "08-checkerboard.png")) {
                inputs.add(classifier.preprocess(image(DEMO + "images/" + file)));
            }
            // A batch of two as well: another set of buffer sizes in the backend's array pool at the same time.
            inputs.add(Tensor.ofFloats(concat(inputs.get(0).toFloatArray(), inputs.get(5).toFloatArray()), 2, 3,
                    classifier.preprocessing().height(), classifier.preprocessing().width()));
            assertSameBitsConcurrently(inputs, 4, inputs.size(), List.of(input -> bits(classifier.logits(input))));
        }
    }

    @Test
    @Timeout(300)
    void oneSegmenterServesEightThreadsWithTheBitsOfASequentialRun() throws Exception {
        try (SemanticSegmenter segmenter = SemanticSegmenter.loadResource(SEGMENTER, new ModelOptions(2))) {
            List<Tensor> inputs = new ArrayList<>();
            for (String file : List.of("01-val-0002.png", "03-val-0004.png")) {
                // A part of each photo, smaller than the 256-pixel window (scaled up to it): one window a call, and
                // one call a caller, so the test stays short with the scalar kernels (about 2 s a window on 2 cores).
                BufferedImage photo = ImageIO.read(resource(DEMO + "segmentation/images/" + file));
                inputs.add(segmenter.normalize(RgbImage.from(photo.getSubimage(64, 32, 160, 144))));
            }
            // Half the callers ask for the merged logits, half for the labels (segment()), at the same time.
            assertSameBitsConcurrently(inputs, 1, 1, List.of(input -> bits(segmenter.logits(input, null)),
                    input -> segmenter.segment(input, null).labels()));
        }
    }

    /**
     * Computes every kind of call on every input sequentially, then on {@value #CALLERS} threads at once (caller
     * {@code c} making calls of kind {@code c % kinds}), {@code rounds} rounds each of {@code perRound} calls on
     * consecutive inputs (each caller starting at another input), the callers released together by a barrier at the
     * start of each round; every concurrent result must have the sequential one's bits.
     */
    private static void assertSameBitsConcurrently(List<Tensor> inputs, int rounds, int perRound,
                                                   List<Function<Tensor, int[]>> kinds) throws Exception {
        List<List<int[]>> expected = new ArrayList<>();
        for (Function<Tensor, int[]> run : kinds) {
            List<int[]> e = new ArrayList<>();
            for (Tensor input : inputs) {
                e.add(run.apply(input));
            }
            expected.add(e);
        }
        // The same call again gives the same bits: the reference is not a first-call artefact.
        assertArrayEquals(expected.get(0).get(0), kinds.get(0).apply(inputs.get(0)), "second sequential run");
        CyclicBarrier barrier = new CyclicBarrier(CALLERS);
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger mostInside = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(CALLERS);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < CALLERS; t++) {
                int caller = t;
                Function<Tensor, int[]> run = kinds.get(caller % kinds.size());
                List<int[]> want = expected.get(caller % kinds.size());
                results.add(pool.submit(() -> {
                    int calls = 0;
                    for (int round = 0; round < rounds; round++) {
                        barrier.await(60, TimeUnit.SECONDS);
                        for (int k = 0; k < perRound; k++) {
                            int i = (caller + k) % inputs.size();
                            mostInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                            int[] got;
                            try {
                                got = run.apply(inputs.get(i));
                            } finally {
                                inside.decrementAndGet();
                            }
                            assertArrayEquals(want.get(i), got,
                                    "caller " + caller + ", round " + round + ", input " + i);
                            calls++;
                        }
                    }
                    return calls;
                }));
            }
            int calls = 0;
            for (Future<Integer> f : results) {
                calls += f.get(); // rethrows a caller's assertion failure or exception
            }
            assertEquals(CALLERS * rounds * perRound, calls);
            // The barrier releases all callers together, so they overlap; printed, not asserted (it is timing).
            System.out.println("most calls in progress at once: " + mostInside.get());
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS));
        }
    }

    // ------------------------------------------------------------------ close() while calls run

    @Test
    @Timeout(120)
    void closeWaitsForTheCallInProgressAndRefusesNewOnes() throws Exception {
        ImageClassifier classifier = ImageClassifier.loadResource(CLASSIFIER, new ModelOptions(2));
        Tensor input = classifier.preprocess(image(DEMO + "images/04-star.png"));
        int[] expected = bits(classifier.logits(input));
        // A reduction that does nothing, except hold its call inside the classifier until the test lets it go.
        BlockingReduction hold = new BlockingReduction();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            Future<int[]> held = threads.submit(() -> bits(classifier.logits(input, hold).logits()));
            assertTrue(hold.entered.await(60, TimeUnit.SECONDS), "the held call started");
            CountDownLatch closing = new CountDownLatch(1);
            Future<?> closed = threads.submit(() -> {
                closing.countDown();
                classifier.close();
            });
            assertTrue(closing.await(60, TimeUnit.SECONDS));
            // Once close() has begun, new calls fail at once, naming the model; until then they run normally.
            IllegalStateException refused = awaitRefusal(classifier, input);
            assertEquals("ImageClassifier " + classifier.name() + " is closed", refused.getMessage());
            // close() cannot have returned: the held call is still inside, and its weights must stay alive.
            assertFalse(closed.isDone(), "close() returned while a call was in progress");
            assertFalse(held.isDone());
            hold.release.countDown();
            assertArrayEquals(expected, held.get(60, TimeUnit.SECONDS), "the call in progress finished normally");
            closed.get(60, TimeUnit.SECONDS);
            IllegalStateException after = assertThrows(IllegalStateException.class, () -> classifier.logits(input));
            assertEquals("ImageClassifier " + CLASSIFIER + " is closed", after.getMessage());
            assertThrows(IllegalStateException.class, () -> classifier.classify(input, 1));
            assertThrows(IllegalStateException.class, () -> classifier.logits(input, null));
            assertDoesNotThrow(classifier::close, "closing twice does nothing");
        } finally {
            hold.release.countDown();
            threads.shutdownNow();
            assertTrue(threads.awaitTermination(60, TimeUnit.SECONDS));
            classifier.close();
        }
    }

    @Test
    @Timeout(120)
    void segmenterCloseWaitsForTheCallInProgressAndRefusesNewOnes() throws Exception {
        SemanticSegmenter segmenter = SemanticSegmenter.loadResource(SEGMENTER, new ModelOptions(2));
        BufferedImage photo = ImageIO.read(resource(DEMO + "segmentation/images/05-val-0008.png"));
        Tensor input = segmenter.normalize(RgbImage.from(photo.getSubimage(0, 0, 160, 160)));
        int[] expected = bits(segmenter.logits(input, null));
        BlockingReduction hold = new BlockingReduction();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            Future<int[]> held = threads.submit(() -> bits(segmenter.logits(input, hold)));
            assertTrue(hold.entered.await(60, TimeUnit.SECONDS), "the held call started");
            Future<?> closed = threads.submit(segmenter::close);
            IllegalStateException refused = awaitRefusal(in -> segmenter.segment(in, null), input);
            assertEquals("SemanticSegmenter " + SEGMENTER + " is closed", refused.getMessage());
            assertFalse(closed.isDone(), "close() returned while a call was in progress");
            hold.release.countDown();
            assertArrayEquals(expected, held.get(60, TimeUnit.SECONDS), "the call in progress finished normally");
            closed.get(60, TimeUnit.SECONDS);
            assertThrows(IllegalStateException.class, () -> segmenter.logits(input, null));
            assertDoesNotThrow(segmenter::close);
        } finally {
            hold.release.countDown();
            threads.shutdownNow();
            assertTrue(threads.awaitTermination(60, TimeUnit.SECONDS));
            segmenter.close();
        }
    }

    @Test
    @Timeout(120)
    void closeDuringManyCallsEndsEachInAResultOrARefusal() throws Exception {
        ImageClassifier classifier = ImageClassifier.loadResource(CLASSIFIER, new ModelOptions(2));
        Tensor input = classifier.preprocess(image(DEMO + "images/08-checkerboard.png"));
        int[] expected = bits(classifier.logits(input));
        CountDownLatch everyoneCalled = new CountDownLatch(CALLERS);
        ExecutorService pool = Executors.newFixedThreadPool(CALLERS);
        try {
            List<Future<Integer>> callers = new ArrayList<>();
            for (int t = 0; t < CALLERS; t++) {
                callers.add(pool.submit(() -> {
                    int calls = 0;
                    while (true) {
                        int[] got;
                        try {
                            got = bits(classifier.logits(input));
                        } catch (IllegalStateException e) {
                            // The only way out: refused because the classifier closed, never a freed-memory error.
                            assertEquals("ImageClassifier " + CLASSIFIER + " is closed", e.getMessage());
                            return calls;
                        }
                        assertArrayEquals(expected, got, "a call that returned gave the right bits");
                        if (calls++ == 0) {
                            everyoneCalled.countDown();
                        }
                    }
                }));
            }
            assertTrue(everyoneCalled.await(60, TimeUnit.SECONDS));
            classifier.close(); // while the callers are calling
            for (Future<Integer> f : callers) {
                assertTrue(f.get(60, TimeUnit.SECONDS) >= 1);
            }
        } finally {
            classifier.close();
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS));
        }
    }

    /** Calls until one is refused (the closer thread may not have begun closing yet); returns that refusal. */
    private static IllegalStateException awaitRefusal(ImageClassifier classifier, Tensor input) {
        return awaitRefusal(in -> classifier.logits(in), input);
    }

    private static IllegalStateException awaitRefusal(Function<Tensor, ?> call, Tensor input) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            try {
                call.apply(input);
            } catch (IllegalStateException e) {
                return e;
            }
            Thread.onSpinWait();
        }
        return fail("calls were still accepted 60 s after close() began");
    }

    /** A reduction that changes nothing; its {@code newReducer}, called inside a forward call, waits to be released. */
    private static final class BlockingReduction implements ReductionMethod {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public String name() {
            return "hold";
        }

        @Override
        public Map<String, Object> settings() {
            return Map.of();
        }

        @Override
        public void check(VitConfig model, int gridHeight, int gridWidth) {
        }

        @Override
        public TokenReducer newReducer(Backend backend, VitConfig model) {
            entered.countDown();
            try {
                if (!release.await(60, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("not released");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            return TokenReducer.NONE;
        }

        @Override
        public String spec() {
            return "hold";
        }
    }

    // ------------------------------------------------------------------ load and close, many times

    @Test
    @Timeout(300)
    void loadingAndClosingAHundredTimesLeavesNoThreadsAndNoMemory() throws Throwable {
        Tensor input;
        try (ImageClassifier warmUp = ImageClassifier.loadResource(CLASSIFIER, new ModelOptions(4))) {
            input = warmUp.preprocess(image(DEMO + "images/02-square.png"));
            warmUp.logits(input);
        }
        MethodHandle mallinfo = mallinfo2();
        Set<Thread> before = awaitThreadsAtMost(Integer.MAX_VALUE);
        int threadsBefore = before.size();
        long mallocBefore = 0;
        long heapBefore = 0;
        for (int i = 0; i < 100; i++) {
            if (i == 10) { // after the JIT and the allocator have settled, and the last load's threads have left
                awaitThreadsAtMost(threadsBefore);
                mallocBefore = mallocInUse(mallinfo);
                heapBefore = heapAfterFullCollection();
            }
            try (ImageClassifier classifier = ImageClassifier.loadResource(CLASSIFIER, new ModelOptions(4))) {
                assertEquals(2, classifier.logits(input).shape().rank());
            }
        }
        Set<Thread> after = awaitThreadsAtMost(threadsBefore);
        long mallocAfter = mallocInUse(mallinfo);
        long heapAfter = heapAfterFullCollection();
        after.removeAll(before);
        assertTrue(after.isEmpty(), "threads left behind: " + after);
        assertTrue(Thread.getAllStackTraces().size() <= threadsBefore, "more threads than before the loads");
        // Each load packs ~1.9 MB of weights into heap arrays: 90 leaked models would be ~170 MB of live heap after a
        // full collection; the bound is half of that.
        System.out.printf("live heap: %d MB -> %d MB%n", heapBefore >> 20, heapAfter >> 20);
        assertTrue(heapAfter - heapBefore < 85L << 20, "live heap grew by " + ((heapAfter - heapBefore) >> 20)
                + " MB in 90 loads");
        if (mallinfo != null) {
            // Nothing of a model should be malloc'd once it is closed (an arena left open, a mapped file's bookkeeping):
            // 90 leaks of its ~1.9 MB would be ~170 MB; the JVM's own native allocations (compiler arenas, class
            // data, exiting threads) move by tens of MB, so the bound is half the leak.
            long grown = mallocAfter - mallocBefore;
            System.out.printf("malloc'd memory in use: %d MB -> %d MB%n", mallocBefore >> 20, mallocAfter >> 20);
            assertTrue(grown < 85L << 20, "malloc'd memory grew by " + (grown >> 20) + " MB in 90 loads");
        }
    }

    /**
     * The live heap after full collections: {@code System.gc()} (a full collection with the collectors the tests run
     * under, unless a JVM option makes it concurrent or disables it), twice, so that what the first found unreachable
     * is gone.
     */
    private static long heapAfterFullCollection() {
        System.gc();
        System.gc();
        return java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** The off-heap proxy sees what an Arena allocates and frees, so the bound above measures something. */
    @Test
    void mallocProxySeesArenaMemory() throws Throwable {
        MethodHandle mallinfo = mallinfo2();
        assumeTrue(mallinfo != null, "glibc's mallinfo2 is not here");
        // Large against the JVM's own native churn (threads of earlier tests exiting, the JIT: tens of MB seen), and
        // measured once no compute thread of an earlier test is left.
        awaitThreadsAtMost(Integer.MAX_VALUE);
        long size = 256L << 20;
        long base = mallocInUse(mallinfo);
        long held;
        try (Arena arena = Arena.ofShared()) {
            arena.allocate(size);
            held = mallocInUse(mallinfo);
        }
        long freed = mallocInUse(mallinfo);
        // Other JVM threads free and allocate meanwhile (tens of MB): half the arena is a clear signal.
        assertTrue(held - base >= size / 2, "an arena of 256 MB showed as " + ((held - base) >> 20) + " MB");
        assertTrue(held - freed >= size / 2, "closing it gave back " + ((held - freed) >> 20) + " MB");
    }

    /**
     * Waits (up to a generous minute) until at most {@code limit} threads are alive and none of them computes: the
     * compute threads of a closed pool leave as soon as they see the pool closed, a moment after {@code close()}.
     */
    private static Set<Thread> awaitThreadsAtMost(int limit) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            Set<Thread> alive = new java.util.HashSet<>(Thread.getAllStackTraces().keySet());
            alive.removeIf(t -> !t.isAlive());
            long compute = alive.stream().filter(t -> t.getName().startsWith("hourglass-compute-")).count();
            if ((alive.size() <= limit && compute == 0) || System.nanoTime() > deadline) {
                return alive;
            }
            Thread.sleep(10);
        }
    }

    /**
     * glibc's {@code mallinfo2()}, or null where there is none (another libc or OS). Arena memory is malloc'd by the
     * JVM and shows in no MXBean (the direct buffer pool counts only ByteBuffers), and the resident size of a test
     * JVM moves by hundreds of MB with the heap, so the bytes malloc has handed out are the proxy for off-heap memory.
     */
    private static MethodHandle mallinfo2() {
        if (!System.getProperty("os.name").startsWith("Linux") || ValueLayout.ADDRESS.byteSize() != 8) {
            return null;
        }
        Linker linker = Linker.nativeLinker();
        return linker.defaultLookup().find("mallinfo2")
                .map(f -> linker.downcallHandle(f, FunctionDescriptor.of(MALLINFO2)))
                .orElse(null);
    }

    /** struct mallinfo2: ten size_t fields. */
    private static final StructLayout MALLINFO2 = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("arena"), ValueLayout.JAVA_LONG.withName("ordblks"),
            ValueLayout.JAVA_LONG.withName("smblks"), ValueLayout.JAVA_LONG.withName("hblks"),
            ValueLayout.JAVA_LONG.withName("hblkhd"), ValueLayout.JAVA_LONG.withName("usmblks"),
            ValueLayout.JAVA_LONG.withName("fsmblks"), ValueLayout.JAVA_LONG.withName("uordblks"),
            ValueLayout.JAVA_LONG.withName("fordblks"), ValueLayout.JAVA_LONG.withName("keepcost"));

    /** Bytes malloc has handed out and not had back: small blocks in its arenas plus large mmap'd ones. */
    private static long mallocInUse(MethodHandle mallinfo2) throws Throwable {
        if (mallinfo2 == null) {
            return -1;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = (MemorySegment) mallinfo2.invokeExact((SegmentAllocator) arena);
            return info.get(ValueLayout.JAVA_LONG, MALLINFO2.byteOffset(MemoryLayout.PathElement.groupElement(
                    "uordblks"))) + info.get(ValueLayout.JAVA_LONG, MALLINFO2.byteOffset(
                    MemoryLayout.PathElement.groupElement("hblkhd")));
        }
    }

    // ------------------------------------------------------------------ helpers

    private static InputStream resource(String name) {
        InputStream in = ConcurrencyTest.class.getClassLoader().getResourceAsStream(name);
        assertNotNull(in, name);
        return in;
    }

    private static RgbImage image(String name) throws IOException {
        try (InputStream in = resource(name)) {
            return RgbImage.from(ImageIO.read(in));
        }
    }

    private static int[] bits(Tensor t) {
        float[] v = t.toFloatArray();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Float.floatToRawIntBits(v[i]);
        }
        return out;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = new float[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

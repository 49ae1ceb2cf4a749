package dev.hourglass.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.hourglass.convert.ConvertOptions;

/** {@link ModelCache} without Spark: one load per key however many threads ask at once; failures not kept. */
class ModelCacheTest {

    /** A stand-in model that counts its closes. */
    static final class Fake implements AutoCloseable {
        final AtomicInteger closes = new AtomicInteger();

        @Override
        public void close() {
            closes.incrementAndGet();
        }
    }

    private static ModelCache.Key key(String model) {
        return new ModelCache.Key("test", model, 1, "cpu", ConvertOptions.NONE);
    }

    @BeforeEach
    @AfterEach
    void forget() {
        ModelCache.closeAll();
    }

    @Test
    void threadsAskingAtOnceShareOneLoad() throws Exception {
        AtomicInteger loads = new AtomicInteger();
        long before = ModelCache.loads();
        int threads = 8;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Fake>> got = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                got.add(pool.submit(() -> {
                    start.await();
                    return ModelCache.get(key("a"), () -> {
                        loads.incrementAndGet();
                        java.util.concurrent.locks.LockSupport.parkNanos(50_000_000); // others arrive meanwhile
                        return new Fake();
                    });
                }));
            }
            start.countDown();
            Fake first = got.getFirst().get();
            for (Future<Fake> f : got) {
                assertSame(first, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, loads.get());
        assertEquals(1, ModelCache.loads() - before);
        assertEquals(1, ModelCache.size());
    }

    @Test
    void otherKeysAreOtherModelsAndCloseAllClosesEachOnce() throws IOException {
        Fake a = ModelCache.get(key("a"), Fake::new);
        Fake b = ModelCache.get(key("b"), Fake::new);
        Fake a2 = ModelCache.get(new ModelCache.Key("test", "a", 2, "cpu", ConvertOptions.NONE), Fake::new);
        assertTrue(a != b && a != a2);
        assertSame(a, ModelCache.get(key("a"), Fake::new));
        assertEquals(3, ModelCache.size());
        ModelCache.closeAll();
        assertEquals(0, ModelCache.size());
        assertEquals(List.of(1, 1, 1), List.of(a.closes.get(), b.closes.get(), a2.closes.get()));
        Fake again = ModelCache.get(key("a"), Fake::new);
        assertTrue(again != a, "loaded again after closeAll");
    }

    @Test
    void aFailedLoadIsNotKept() throws IOException {
        long before = ModelCache.loads();
        IOException e = assertThrows(IOException.class, () -> ModelCache.get(key("c"), () -> {
            throw new IOException("c: no such file");
        }));
        assertEquals("c: no such file", e.getMessage());
        assertEquals(before, ModelCache.loads());
        assertEquals(0, ModelCache.size());
        ModelCache.get(key("c"), Fake::new);
        assertEquals(before + 1, ModelCache.loads());
    }
}

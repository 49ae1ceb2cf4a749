package dev.hourglass.tornado;

import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.types.arrays.TornadoNativeArray;

import java.util.Comparator;

/**
 * One TornadoVM array as {@link TornadoBackend} tracks it: its host copy, and where its newest contents are. After an
 * execution plan writes the array, the newest contents stay on the device ({@link #deviceOwner} names the plan's
 * result) until the host needs them; only then are they copied back.
 */
final class DeviceArray {
    /** Pool order: the array made first comes first. */
    static final Comparator<DeviceArray> OLDEST_FIRST = Comparator.comparingLong(a -> a.serial);

    final TornadoNativeArray data;
    /** Order of creation within its backend. */
    final long serial;
    /** Weights and index tables: written once on the host, sent to each plan's device memory once. */
    final boolean constant;
    /** The execution result whose device memory holds newer contents than the host copy; null if the host is current. */
    TornadoExecutionResult deviceOwner;
    /** The cached plan that {@link #deviceOwner} came from. */
    Object ownerPlan;

    DeviceArray(TornadoNativeArray data, boolean constant, long serial) {
        this.data = data;
        this.constant = constant;
        this.serial = serial;
    }

    int length() {
        return data.getSize();
    }

    /** Makes the host copy current. */
    void syncToHost() {
        if (deviceOwner != null) {
            deviceOwner.transferToHost(data);
            deviceOwner = null;
            ownerPlan = null;
        }
    }
}

package dev.hourglass.backend;

import java.util.List;

/**
 * One backend as {@link Backends#report()} finds it.
 *
 * @param name        its {@code --backend} name
 * @param priority    higher wins under {@code auto} among the backends worth offloading to; -1 when unreadable
 * @param available   whether it can run here
 * @param reason      why it cannot run (null when it can)
 * @param devices     the devices it would compute on, first used first (empty when it cannot run or cannot tell)
 * @param autoChoice  whether {@code --backend auto} takes it
 * @param notAutoBecause why {@code auto} passes it over (null when it takes it)
 */
public record BackendReport(String name, int priority, boolean available, String reason, List<DeviceInfo> devices,
                            boolean autoChoice, String notAutoBecause) {
}

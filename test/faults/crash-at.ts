// Preloaded (`--import`) into a service instance a crash test starts with MODEX_CRASH_AT set:
// the instance SIGKILLs itself (no cleanup) at that fault point of the booking protocol.
import { installFaultHook, type FaultPoint } from '../../src/services/fault-points.js'

const POINTS: FaultPoint[] = ['after-claims', 'after-expiry-scheduled', 'after-confirm', 'after-extend-seats', 'after-extend-scheduled', 'after-bulk-expire']
const crashAt = POINTS.find((point) => point === process.env.MODEX_CRASH_AT)
if (crashAt !== undefined) {
  installFaultHook((point) => {
    if (point === crashAt) process.kill(process.pid, 'SIGKILL')
  })
}

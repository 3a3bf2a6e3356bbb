// The one timeout helper lives in @mp/storage (the bottom layer, which may import no other workspace).
export { settleWithin } from '@mp/storage';

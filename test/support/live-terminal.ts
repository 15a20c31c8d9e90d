// Import this FIRST in a test that drives Ink on a fake terminal: with CI=true in the
// environment Ink would otherwise draw only the final frame (see src/ui/load.ts).
import { forgetCiEnvironment } from '../../src/ui/load.js';

forgetCiEnvironment();

// The one way into the UI: loads Ink lazily, after making sure it will draw live frames.
//
// Ink reads is-in-ci once, when it is first imported, and from then on draws only the final
// frame. When stdout is a terminal a person is watching, so a CI variable inherited from the
// environment (a CI job's shell, a test run) must not blank the dashboard; we drop it before
// Ink is loaded. Nothing may import Ink before this runs.
export async function loadDashboard(stdout: NodeJS.WriteStream): Promise<typeof import('./run.js')> {
  if (stdout.isTTY) forgetCiEnvironment();
  return import('./run.js');
}

export function forgetCiEnvironment(): void {
  for (const k of Object.keys(process.env)) {
    if (k === 'CI' || k === 'CONTINUOUS_INTEGRATION' || k.startsWith('CI_')) delete process.env[k];
  }
}

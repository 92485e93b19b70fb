/** Package version, injected by the bundler; source runs (tests) report a dev version. */
declare const QREXEC_POLICY_VERSION: string | undefined;

/* c8 ignore next -- the bundler defines the constant; tests run the sources */
export const VERSION: string = typeof QREXEC_POLICY_VERSION === 'string' ? QREXEC_POLICY_VERSION : '0.0.0-dev';

/**
 * The app's version, from package.json: recorded in checkpoints, sample records and exports.
 * A module of its own (no imports but package.json) so that every layer may use it without
 * importing the service layer.
 */
import pkg from '../package.json' with { type: 'json' };

export const APP_VERSION: string = pkg.version;

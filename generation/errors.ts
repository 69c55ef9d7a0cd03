/** The typed errors, for the core: they live in the leaf common/errors.ts (see there). */
export * from '../common/errors.js';

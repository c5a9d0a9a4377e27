/** Event bus, recorder and trace export. */
export * from './event-bus.ts';
export * from './event-recorder.ts';
export * from './chrome-trace.ts';

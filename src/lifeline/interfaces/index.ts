export * from './client-record.interface';
export * from './disconnect-reason';
export * from './lifeline-options.interface';

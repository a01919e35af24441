export * from './status-section.interface';
export * from './status-snapshot.interface';

export * from './cluster-client-view.interface';
export * from './cluster-options.interface';

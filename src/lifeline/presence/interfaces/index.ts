export * from './presence.interface';
export * from './presence-store.interface';

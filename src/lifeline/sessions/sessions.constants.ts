/** Name of the session link every client holds (ClientRegistryService.attach). */
export const SESSION_RESOURCE = 'session';

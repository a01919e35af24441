/** The ClientProxy LifelineTransportClient talks through. */
export const LIFELINE_CLIENT_PROXY = Symbol('LIFELINE_CLIENT_PROXY');
/** LifelineClientModule options (prefix). */
export const LIFELINE_CLIENT_OPTIONS = Symbol('LIFELINE_CLIENT_OPTIONS');

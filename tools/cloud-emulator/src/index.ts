export { type Cloud, type CloudOptions, type CloudService, type CloudServiceOptions, startCloud } from './cloud.js';
export { cloudServices } from './from-project.js';
export { type FrontDoor, type Invokable, startFrontDoor } from './front-door.js';
export { bearerToken, decodeBearer, decodeJwt, SigningKey } from './jwt.js';
export { type Fault, type MetadataOptions, type MetadataServer, startMetadataServer } from './metadata.js';
export { identityToken } from './state.js';

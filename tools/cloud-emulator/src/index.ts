export { SigningKey, decodeJwt } from './jwt.js';
export { type Fault, type MetadataOptions, type MetadataServer, startMetadataServer } from './metadata.js';

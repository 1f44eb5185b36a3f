import Serializer from 'fast-json-stringify/lib/serializer.js';

/**
 * What fast-json-stringify's precompiled serializers (the generated
 * serializers.js) need at run time, by the module name its standalone code
 * gives it, as `ajvRuntime` is for the validators. Both the generator and
 * this runtime pin the same fast-json-stringify (7.3.10, Fastify 5's): the
 * serializer's state format is that version's.
 */
export const serializerRuntime: Readonly<Record<string, unknown>> = {
  'fast-json-stringify/lib/serializer': Serializer,
};

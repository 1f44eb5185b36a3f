// fast-json-stringify's serializer class, which its standalone code restores its state into; the
// package declares no types for it, and this runtime only hands it over.
declare module 'fast-json-stringify/lib/serializer.js' {
  const Serializer: unknown;
  export default Serializer;
}

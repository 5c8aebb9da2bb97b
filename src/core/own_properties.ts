/**
 * Reading caller objects at the public boundary without ever reading what an
 * object only inherits: a key set on `Object.prototype` (prototype pollution)
 * or on an options object's prototype (`Object.create({ tol: 0.9 })`) must
 * change nothing, and a getter is read once, so what was validated is what is
 * used.
 *
 * @module
 */

/** Whether a value is a plain object: `{…}` or `Object.create(null)`. */
export function isPlainObject(value: unknown): value is Record<PropertyKey, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Whether a plain object only holds data (no function among its own values):
 * such records are copied by {@linkcode ownOptions}; objects with behaviour
 * (a scalarisation, a backend, a client) are passed by reference, as their
 * methods may read state through `this`.
 */
function isDataRecord(value: Record<PropertyKey, unknown>): boolean {
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (
      descriptor && Object.hasOwn(descriptor, "value") && typeof descriptor.value === "function"
    ) {
      return false;
    }
  }
  return true;
}

/** Own enumerable entries (string and symbol keys), each getter invoked once. */
function copyRecord(value: object, nested: (v: unknown) => unknown): Record<PropertyKey, unknown> {
  const out: Record<PropertyKey, unknown> = Object.create(null);
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (!descriptor?.enumerable) continue;
    Object.defineProperty(out, key, {
      value: nested((value as Record<PropertyKey, unknown>)[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * An array's own elements, its length read once; a hole reads as undefined,
 * never as an inherited index. An array longer than `maxLength` is kept as it
 * is, its elements unread (a decoder refuses it by its length alone).
 */
function copyArray(
  value: readonly unknown[],
  nested: (v: unknown) => unknown,
  maxLength: number,
): readonly unknown[] {
  const length = value.length;
  if (length > maxLength) return value;
  const out = new Array<unknown>(length);
  for (let i = 0; i < length; i++) out[i] = Object.hasOwn(value, i) ? nested(value[i]) : undefined;
  return out;
}

/**
 * The copy of nested data below `root`: arrays and data records copied, a
 * value already being copied higher up (a cycle) kept as it is, for the
 * schema to refuse.
 */
function copier(maxLength: number, root: object): (value: unknown) => unknown {
  const path = new Set<object>([root]);
  const copyData = (value: unknown): unknown => {
    if (typeof value !== "object" || value === null || path.has(value)) return value;
    const array = Array.isArray(value);
    if (!array && !(isPlainObject(value) && isDataRecord(value))) return value;
    path.add(value);
    try {
      return array
        ? copyArray(value as unknown[], copyData, maxLength)
        : copyRecord(value, copyData);
    } finally {
      path.delete(value);
    }
  };
  return copyData;
}

/**
 * The options object as validation should see it: a null-prototype copy of
 * its own enumerable properties (each getter read once), with nested arrays
 * and data records (plain objects without methods) copied the same way (a
 * cycle is kept as it is, for the schema to refuse). Functions, class
 * instances (an accumulator, an AbortSignal, a client) and plain objects
 * with methods are kept as they are. Anything that is not an object is
 * returned unchanged, for the schema to refuse.
 *
 * @param value The options as given.
 * @returns The copy.
 */
export function ownOptions(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  return copyRecord(value, copier(Infinity, value));
}

/**
 * Untrusted data (a JSON snapshot, parsed or given as an object) as a decoder
 * should see it: for a plain object, the copy {@linkcode ownOptions} makes
 * (own enumerable properties only, each read once, holes read as undefined),
 * so that nothing is read from `Object.prototype` or `Array.prototype` and
 * what is validated is what is used; anything else is returned as it is, for
 * the decoder to refuse. Arrays longer than `maxArrayLength` are not copied
 * (no valid field is that long). A getter or Proxy trap that throws throws
 * here.
 *
 * @param value The data as given.
 * @param maxArrayLength The longest array worth copying.
 * @returns The copy, or `value` itself when it is not a plain object.
 */
export function ownData(value: unknown, maxArrayLength: number): unknown {
  if (!isPlainObject(value)) return value;
  return copyRecord(value, copier(maxArrayLength, value));
}

/**
 * A copy of validated options in which a key that is absent reads as
 * `undefined`, whatever `Object.prototype` holds (a null-prototype object
 * with the same own properties).
 *
 * @param value The parsed options.
 * @returns The copy, or `value` itself when it is not a plain object.
 */
export function withoutPrototype<T>(value: T): T {
  if (!isPlainObject(value)) return value;
  return Object.assign(Object.create(null), value) as T;
}

/**
 * A property of a caller's object as the library reads it: its own, or one
 * its class provides (a getter on a prototype), but never one that only
 * `Object.prototype` holds. Each call reads the property once.
 *
 * @param value The object.
 * @param key The property.
 * @returns The value, or undefined when only `Object.prototype` (or nothing) has it.
 */
export function readProperty(value: object, key: PropertyKey): unknown {
  return hasProperty(value, key) ? (value as Record<PropertyKey, unknown>)[key] : undefined;
}

/**
 * Whether a caller's object has a property of its own or from its class (see
 * {@linkcode readProperty}).
 *
 * @param value The object.
 * @param key The property.
 * @returns True when the object or a prototype below `Object.prototype` defines it.
 */
export function hasProperty(value: object, key: PropertyKey): boolean {
  let node: object | null = value;
  while (node !== null && node !== Object.prototype) {
    if (Object.hasOwn(node, key)) return true;
    node = Object.getPrototypeOf(node);
  }
  return false;
}

/** An answer the emulator sends as `{ "error": { "message" } }` with `status`, like Cloudinary. */
export class EmulatorHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'EmulatorHttpError';
  }
}

// Reads the EXIF facts the library keeps: capture date, camera, orientation, and GPS only when asked.
import exifr from 'exifr';

export interface PhotoExif {
  takenAt: string | null;
  camera: string | null;
  orientation: number | null;
  gps: { lat: number; lon: number } | null;
}

/** The facts of a photo without EXIF. */
export const NO_EXIF: PhotoExif = Object.freeze({ takenAt: null, camera: null, orientation: null, gps: null });

/** EXIF facts of an image file's bytes; missing or unreadable EXIF gives nulls, never an error. */
export async function readExif(bytes: Buffer, keepGps: boolean): Promise<PhotoExif> {
  let tags: Record<string, unknown> | undefined;
  try {
    tags = (await exifr.parse(bytes, {
      tiff: true,
      exif: true,
      gps: keepGps,
      ifd1: false,
      interop: false,
      xmp: false,
      icc: false,
      iptc: false,
      jfif: false,
      ihdr: false,
      pick: ['DateTimeOriginal', 'CreateDate', 'DateTime', 'Make', 'Model', 'Orientation', ...(keepGps ? ['latitude', 'longitude', 'GPSLatitude', 'GPSLongitude', 'GPSLatitudeRef', 'GPSLongitudeRef'] : [])],
      translateValues: false,
    })) as Record<string, unknown> | undefined;
  } catch {
    return NO_EXIF;
  }
  if (!tags) return NO_EXIF;
  const date = [tags.DateTimeOriginal, tags.CreateDate, tags.DateTime].find((d) => d instanceof Date && !Number.isNaN(d.getTime())) as Date | undefined;
  const clean = (v: unknown) => (typeof v === 'string' ? v.replace(/[\u0000-\u001f]+/g, ' ').replace(/\s+/g, ' ').trim() : '');
  const make = clean(tags.Make);
  const model = clean(tags.Model);
  const camera = model.toLowerCase().startsWith(make.toLowerCase()) ? model : `${make} ${model}`.trim();
  const orientation = typeof tags.Orientation === 'number' ? tags.Orientation : null;
  const lat = tags.latitude;
  const lon = tags.longitude;
  return {
    // exifr reads EXIF's zone-less local time as local time; store it as written (no zone conversion).
    takenAt: date ? localIso(date) : null,
    camera: camera === '' ? null : camera,
    orientation,
    gps: keepGps && typeof lat === 'number' && typeof lon === 'number' && Number.isFinite(lat) && Number.isFinite(lon) ? { lat, lon } : null,
  };
}

function localIso(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

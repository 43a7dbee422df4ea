/**
 * Gallery exports: a folder or zip of images with manifest.json + manifest.csv, a contact sheet,
 * a denoising animation and an interpolation strip.
 *
 * Safety rules (issue 6):
 * - names come from metadata, so they are sanitised and every write target is checked to stay
 *   inside the chosen folder (`safeExportPath`): no `..`, absolute names, control characters,
 *   Windows-reserved names;
 * - existing files are never overwritten: files are committed with a no-clobber link (atomic.ts)
 *   and get -1, -2, … when the name is taken;
 * - nothing half-written is ever visible: every file is written to a temp name in the target
 *   folder, fsynced and moved into place; a cancelled or failed export removes what it wrote; a
 *   killed one leaves only dot-prefixed temp files that the next export cleans up.
 *
 * Zip writing uses fflate 0.8.3 (≈8 kB, no dependencies, 100M+ downloads/month): its streaming
 * `Zip` lets us write entry by entry to a file handle with bounded memory, and it gets the
 * format details (UTF-8 names, data descriptors, DOS times, CRC) right; a hand-written writer
 * would be the same code with fewer users. Images are stored (PNG/WebP are already compressed),
 * the manifests deflated. fflate writes no ZIP64, so exports are capped at 65,535 entries / 4 GiB.
 */
// The code lives in gallery/export/ and gallery/render/; this index keeps the old import path.
export { ExportError, safeExportPath, sanitizeFileName, uniqueName } from './export/names';
export { csvField, manifestCsv, manifestJson, type ExportSample, type ImageFormat, type ExportProgress, type ExportOptions, type ManifestItem, type Manifest, type ExportResult } from './export/manifest';
export { xmlEscape, exportImageBytes, upscaleFactor, nearestUpscale } from './export/images';
export { exportFolder } from './export/folder';
export { exportZip, type ZipOptions } from './export/zip';
export { captionOf, captionWidth, wrapCaption, contactSheetLayout, contactSheet, type ContactSheetOptions, type Box, type SheetLabel, type SheetLayout } from './render/contact-sheet';
export { denoisingAnimation, interpolationStrip, type AnimationOptions, type StripOptions } from './render/animation';

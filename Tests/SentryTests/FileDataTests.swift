// The block store behind tmpfs files (FileData): holes, truncation, writes across block boundaries, and
// the tmpfs short write at a mount's size limit, checked against a flat array doing the same.
import LinuxABI
import XCTest
@testable import Sentry

final class FileDataTests: XCTestCase {
    private let block = FileData.blockSize

    private func write(_ d: FileData, _ bytes: [UInt8], at offset: Int) -> Int {
        bytes.withUnsafeBytes { d.write(from: $0, at: offset) }
    }

    private func read(_ d: FileData, _ count: Int, at offset: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: count)
        let n = out.withUnsafeMutableBytes { d.read(into: $0, at: offset) }
        return Array(out[0..<n])
    }

    /// A write far past the end leaves a hole that reads as zeros and holds no memory.
    func testHolesReadAsZerosAndTakeNoMemory() {
        let d = FileData()
        XCTAssertEqual(write(d, [1, 2, 3], at: 3 * block + 5), 3)
        XCTAssertEqual(d.count, 3 * block + 8)
        XCTAssertEqual(read(d, 16, at: 3 * block), [0, 0, 0, 0, 0, 1, 2, 3])
        XCTAssertEqual(read(d, 10, at: block - 5), [UInt8](repeating: 0, count: 10))
        XCTAssertLessThan(d.allocatedBytes, 4096, "a hole must not be backed by memory")
        XCTAssertEqual(read(d, 10, at: d.count), [])
        XCTAssertEqual(read(d, 10, at: d.count + 100), [])
    }

    /// Shrinking drops the data past the new end; growing again reads zeros there, within a block and across.
    func testTruncateShrinkThenGrowReadsZeros() {
        let d = FileData()
        let ones = [UInt8](repeating: 1, count: 2 * block + 100)
        XCTAssertEqual(write(d, ones, at: 0), ones.count)
        d.truncate(to: block + 10)
        XCTAssertEqual(d.count, block + 10)
        d.truncate(to: 3 * block)
        XCTAssertEqual(read(d, 20, at: block), [UInt8](repeating: 1, count: 10) + [UInt8](repeating: 0, count: 10))
        XCTAssertEqual(read(d, 200, at: 2 * block), [UInt8](repeating: 0, count: 200))
        d.truncate(to: 0)
        XCTAssertEqual(d.allocatedBytes, 0)
        d.truncate(to: 5)
        XCTAssertEqual(d.bytes, [0, 0, 0, 0, 0])
    }

    /// Shrinking into a hole past the last block leaves the blocks before it alone.
    func testTruncateIntoHoleKeepsEarlierBlocks() {
        let d = FileData()
        XCTAssertEqual(write(d, [UInt8](repeating: 1, count: block + block * 3 / 4), at: 0), block + block * 3 / 4)
        d.truncate(to: 3 * block)
        d.truncate(to: 2 * block + block / 2)
        XCTAssertEqual(read(d, 4, at: block + block * 3 / 4 - 2), [1, 1, 0, 0])
    }

    /// Odd-sized appends and overwrites across block boundaries give the same bytes as a flat array.
    func testMatchesFlatArrayUnderRandomWritesAndTruncates() {
        var rng = SystemRandomNumberGenerator()
        let seed = UInt64.random(in: 0...UInt64.max, using: &rng)
        var state = seed
        func next(_ bound: Int) -> Int {  // xorshift: reproducible from the seed printed on failure
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(bound))
        }
        let d = FileData()
        var model: [UInt8] = []
        for step in 0..<200 {
            switch next(10) {
            case 0:
                let size = next(3 * block)
                d.truncate(to: size)
                if size < model.count { model.removeLast(model.count - size) } else {
                    model += [UInt8](repeating: 0, count: size - model.count)
                }
            case 1...3:  // append
                let bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: step &+ 1), count: next(block + 3000))
                XCTAssertEqual(write(d, bytes, at: model.count), bytes.count)
                model += bytes
            default:  // overwrite or extend anywhere, with a possible hole
                let offset = next(3 * block), bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: step &* 7 &+ 3), count: next(70000))
                XCTAssertEqual(write(d, bytes, at: offset), bytes.count)
                if offset + bytes.count > model.count { model += [UInt8](repeating: 0, count: offset + bytes.count - model.count) }
                model.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
            }
            XCTAssertEqual(d.count, model.count, "seed \(seed) step \(step)")
            let at = next(max(1, model.count))
            XCTAssertEqual(read(d, 5000, at: at), Array(model[min(at, model.count)..<min(model.count, at + 5000)]),
                           "seed \(seed) step \(step)")
        }
        XCTAssertEqual(d.bytes, model, "seed \(seed)")
    }

    /// Writes stop at the largest file size: a short count, then nothing.
    func testWritesStopAtMaximumSize() {
        let d = FileData()
        XCTAssertEqual(write(d, [1, 2, 3, 4], at: FileData.maxSize - 2), 2)
        XCTAssertEqual(d.count, FileData.maxSize)
        XCTAssertEqual(write(d, [1], at: FileData.maxSize), 0)
        XCTAssertEqual(read(d, 4, at: FileData.maxSize - 3), [0, 1, 2])
    }

    /// On a tmpfs with a size limit a write that does not fit stores what fits (whole pages), returns the
    /// short count, charges only that, and the next write fails with ENOSPC; freeing space lets writes in.
    func testTmpfsShortWriteAtSizeLimit() throws {
        let root = TmpfsInode.mountRoot(TmpfsOptions(sizeLimit: 3 * 4096 + 100))  // rounds up to 4 pages
        let file = try root.create("f", mode: FileMode.S_IFREG | 0o644)
        let bytes = [UInt8](repeating: 7, count: 5 * 4096)
        // Single-threaded here: the inode's lock is not needed around writeLocked.
        func write(_ count: Int, at offset: Int) throws -> Int {
            try bytes.withUnsafeBytes { try file.writeLocked([UnsafeRawBufferPointer(rebasing: $0[0..<count])], at: offset) }
        }
        XCTAssertEqual(try write(bytes.count, at: 100), 4 * 4096 - 100)
        XCTAssertEqual(file.data.count, 4 * 4096)
        XCTAssertEqual(root.volume?.usage.pages, 4)
        XCTAssertThrowsError(try write(bytes.count, at: file.data.count)) { XCTAssertEqual($0 as? Errno, Errno.ENOSPC) }
        XCTAssertEqual(file.data.count, 4 * 4096)
        // Inside the file nothing is charged: an overwrite still works.
        XCTAssertEqual(try write(10, at: 0), 10)
        var shrink = AttributeChanges()
        shrink.mask = AttributeChanges.size; shrink.size = 4096
        try file.setAttributes(shrink)
        XCTAssertEqual(root.volume?.usage.pages, 1)
        XCTAssertEqual(file.lock.withLock { file.data.bytes }, [UInt8](repeating: 7, count: 10) + [UInt8](repeating: 0, count: 90)
                       + [UInt8](repeating: 7, count: 3996))
    }
}

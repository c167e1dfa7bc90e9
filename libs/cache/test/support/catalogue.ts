import { Injectable } from '@nestjs/common';
import { Cacheable } from '@app/cache';

/** A @Cacheable method that counts its loads; each value says which load produced it. */
@Injectable()
export class Catalogue {
  loads = 0;

  @Cacheable({ key: 'item:{0}' })
  async item(id: string) {
    this.loads++;
    return { id, load: this.loads };
  }
}
